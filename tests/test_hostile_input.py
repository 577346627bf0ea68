"""Input found by fuzzing (schemathesis and by hand): every case is a 4xx, never a 500."""

import pytest

from jobs.models import Job
from training.models import ModelVersion

pytestmark = pytest.mark.django_db

DEEP = "[" * 1000 + "]" * 1000


@pytest.mark.parametrize(
    "start",
    [
        "2024-01-01T12:99:00Z",
        "2014-02-30T00:00:00+11:00",
        "2014-12-01T25:00:00+11:00",
        "0001-01-01T00:00:00+00:00",
        "9999-12-31T00:00:00Z",
    ],
)
def test_impossible_or_absurd_forecast_starts_are_400(owner_client, city, start):
    body = {"city": city.pk, "start": start, "horizon_hours": 24}
    response = owner_client.post("/api/v1/forecasts/", body, format="json")
    assert response.status_code == 400, response.content
    assert "start" in response.json()["error"]["message"]
    batch = owner_client.post("/api/v1/forecasts/batch/", {"items": [body]}, format="json")
    assert batch.status_code == 400
    assert Job.objects.count() == 0


@pytest.mark.parametrize(
    "query",
    [
        "start=0001-01-01T00:00:00%2B01:00",
        "end=9999-12-31T23:59:59-01:00",
        "start=0000-01-01T00:00:00Z",
        "start=-0001-01-01T00:00:00Z",
        "start=2014-12-02T00:00:00Z&end=2014-12-01T00:00:00Z",
    ],
)
def test_out_of_range_query_times_are_400(owner_client, city, query):
    response = owner_client.get(f"/api/v1/forecasts/?{query}")
    assert response.status_code == 400
    assert "error" in response.json()


def test_a_single_quantile_would_give_no_interval(owner_client, city):
    for quantiles in ([0.5], [0.5, 0.5], [0.05, 0.5], [0.75, 0.95]):
        response = owner_client.post(
            "/api/v1/forecasts/",
            {"city": city.pk, "start": "2014-12-01T00:00:00+11:00", "horizon_hours": 1,
             "quantiles": quantiles},
            format="json",
        )  # fmt: skip
        assert response.status_code == 400, quantiles


@pytest.mark.parametrize("path", ["/api/v1/forecasts/", "/api/v1/dispatch/", "/api/v1/cities/"])
def test_deeply_nested_json_is_a_parse_error(owner_client, path):
    response = owner_client.post(path, DEEP, content_type="application/json")
    assert response.status_code == 400
    assert (
        response.json()["error"]["code"] == "parse_error"
        or "JSON" in response.json()["error"]["message"]
    )


def test_deeply_nested_json_on_the_login_is_a_400(client):
    response = client.post("/api/v1/auth/token/", DEEP, content_type="application/json")
    assert response.status_code == 400


def test_a_body_over_the_upload_limit_is_413(owner_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = owner_client.post(
        "/api/v1/forecasts/", '{"pad": "' + "x" * 5000 + '"}', content_type="application/json"
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"


@pytest.mark.parametrize("value", ["9223372036854775808", "%C2%B2", "-1", "1.5", "abc"])
def test_model_list_city_filter_must_be_an_id(owner_client, value):
    response = owner_client.get(f"/api/v1/models/?city={value}")
    assert response.status_code == 400
    assert "city" in response.json()["error"]["message"]


def test_huge_ids_in_paths_are_404(owner_client):
    for path in (
        "/api/v1/cities/9223372036854775808/",
        "/api/v1/forecast-runs/99999999999999999999/",
    ):
        assert owner_client.get(path).status_code == 404


def test_an_idempotency_key_reused_for_another_request_is_a_conflict(
    owner_client, city_with_history
):
    headers = {"HTTP_IDEMPOTENCY_KEY": "k-1"}
    body = {"city": city_with_history.pk, "start": "2014-12-25T00:00:00+11:00", "horizon_hours": 24}
    first = owner_client.post("/api/v1/forecasts/", body, format="json", **headers)
    again = owner_client.post("/api/v1/forecasts/", body, format="json", **headers)
    assert first.status_code == again.status_code == 202
    assert first.json()["job"]["id"] == again.json()["job"]["id"]
    other = owner_client.post(
        "/api/v1/forecasts/", {**body, "horizon_hours": 6}, format="json", **headers
    )
    assert other.status_code == 409
    train = owner_client.post(f"/api/v1/cities/{city_with_history.pk}/train/", **headers)
    assert train.status_code == 409
    assert Job.objects.count() == 1


def test_a_repeated_training_request_on_unchanged_data_gets_the_same_job(
    owner_client, city_with_history, victoria
):
    from tests.factories import load_observations

    url = f"/api/v1/cities/{city_with_history.pk}/train/"
    first = owner_client.post(url).json()["job"]["id"]
    assert owner_client.post(url).json()["job"]["id"] == first
    load_observations(city_with_history, victoria.loc["2014-10-01":"2014-10-07"])
    assert owner_client.post(url).json()["job"]["id"] != first
    assert ModelVersion.objects.count() == 0  # nothing trained in the request itself


def test_an_idempotency_key_that_cannot_be_stored_whole_is_a_400(owner_client, city):
    body = {"city": city.pk, "start": "2014-12-25T00:00:00+11:00", "horizon_hours": 24}
    for key in ("a" * 201, "bad\x01key"):
        response = owner_client.post(
            "/api/v1/forecasts/", body, format="json", HTTP_IDEMPOTENCY_KEY=key
        )
        assert response.status_code == 400
        assert "Idempotency-Key" in response.json()["error"]["message"]
    assert Job.objects.count() == 0


def test_a_chunked_body_without_length_is_411_not_an_empty_request(owner_client, city):
    response = owner_client.post(
        "/api/v1/forecasts/", "{}", content_type="application/json",
        HTTP_TRANSFER_ENCODING="chunked", CONTENT_LENGTH="",
    )  # fmt: skip
    assert response.status_code == 411
    assert response.json()["error"]["code"] == "length_required"


@pytest.mark.parametrize(
    "change", [{"timezone": "localtime"}, {"timezone": "Factory"}, {"name": "Bad\x00name"}]
)
def test_host_dependent_zones_and_control_characters_are_rejected(owner_client, change):
    from cities.models import City

    body = {
        "name": "Geelong", "country": "AU", "timezone": "Australia/Melbourne",
        "latitude": -38.15, "longitude": 144.36, "resolution_minutes": 30, **change,
    }  # fmt: skip
    assert owner_client.post("/api/v1/cities/", body, format="json").status_code == 400
    assert City.objects.count() == 0


def test_the_schema_describes_pagination_batches_and_errors(client):
    import yaml

    schema = yaml.safe_load(client.get("/api/schema/").content)
    paths = schema["paths"]
    sources = paths["/api/v1/cities/{city_id}/sources/"]
    listed = sources["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert listed["$ref"].endswith("PaginatedSourceList")
    assert "201" in sources["post"]["responses"]
    batch = paths["/api/v1/forecasts/batch/"]["post"]["responses"]["202"]
    assert batch["content"]["application/json"]["schema"]["$ref"].endswith("JobsAccepted")
    upload = paths["/api/v1/cities/{city_id}/observations/"]["post"]["responses"]
    assert "202" in upload
    for path in paths.values():
        for operation in path.values():
            assert "4XX" in operation["responses"]
    assert schema["components"]["schemas"]["Error"]["required"] == ["error"]
