import pytest

from cities.models import City

pytestmark = pytest.mark.django_db

NEW_CITY = {
    "name": "Sydney",
    "country": "AU",
    "timezone": "Australia/Sydney",
    "latitude": -33.87,
    "longitude": 151.21,
    "resolution_minutes": 30,
}


def test_list_shows_coverage_of_own_cities_only(owner_client, stranger_client, city_with_history):
    body = owner_client.get("/api/v1/cities/").json()
    assert body["count"] == 1
    coverage = body["results"][0]["data_coverage"]
    assert coverage["observations"] == city_with_history.observations.count() > 0
    assert stranger_client.get("/api/v1/cities/").json()["results"] == []


def test_org_admins_create_cities(owner_client, teammate_client, owner):
    response = owner_client.post("/api/v1/cities/", NEW_CITY, format="json")
    assert response.status_code == 201, response.content
    assert (
        City.objects.get(pk=response.json()["id"]).organization_id
        == owner.membership.organization_id
    )
    assert (
        teammate_client.post(
            "/api/v1/cities/", {**NEW_CITY, "name": "X"}, format="json"
        ).status_code
        == 403
    )


@pytest.mark.parametrize(
    "overrides",
    [
        {"timezone": "Mars/Olympus"},
        {"country": "ZZ"},
        {"latitude": 123},
        {"resolution_minutes": 15},
        {"name": ""},
    ],
)
def test_invalid_cities_are_rejected(owner_client, overrides):
    response = owner_client.post("/api/v1/cities/", {**NEW_CITY, **overrides}, format="json")
    assert response.status_code == 400
    assert "error" in response.json()
    assert City.objects.count() == 0


def test_duplicate_city_name_is_a_conflict(owner_client, city):
    response = owner_client.post("/api/v1/cities/", {**NEW_CITY, "name": city.name}, format="json")
    assert response.status_code == 409
    assert City.objects.count() == 1


def test_anonymous_requests_get_401(client, city):
    response = client.get("/api/v1/cities/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_jwt_login_then_use_the_token(client, owner, city):
    tokens = client.post(
        "/api/v1/auth/token/",
        {"username": "owner", "password": "pw-owner"},
        content_type="application/json",
    ).json()
    response = client.get("/api/v1/cities/", HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    assert response.status_code == 200 and response.json()["count"] == 1
    wrong = client.post(
        "/api/v1/auth/token/",
        {"username": "owner", "password": "nope"},
        content_type="application/json",
    )
    assert wrong.status_code == 401


def test_api_keys_are_scoped_to_their_organisation(client, org, city, other_org):
    from accounts.models import ApiKey

    prefix, raw = ApiKey.generate()
    ApiKey.objects.create(
        organization=org, name="scheduler", prefix=prefix, hashed_key=ApiKey.hash(raw)
    )
    ok = client.get("/api/v1/cities/", HTTP_AUTHORIZATION=f"Api-Key {raw}")
    assert ok.status_code == 200 and ok.json()["count"] == 1
    assert client.get("/api/v1/cities/", HTTP_AUTHORIZATION="Api-Key nope").status_code == 401
    assert ApiKey.objects.filter(hashed_key=raw).count() == 0  # never stored in clear
