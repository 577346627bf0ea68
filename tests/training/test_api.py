import pytest
from django.core.files.base import ContentFile

from jobs.models import Job
from tests.factories import make_city
from training.models import ModelVersion


def make_version(city, version, status="candidate", mape=5.0):
    model_version = ModelVersion.objects.create(
        city=city,
        version=version,
        status=status,
        metrics={"model": {"mape": mape}, "seasonal_naive": {"mape": 8.0}},
    )
    model_version.artifact.save(f"test-v{version}.cbm", ContentFile(b"model"), save=True)
    return model_version


@pytest.fixture
def foreign_city(other_org):
    return make_city(
        other_org,
        "Elsewhere",
        country="NZ",
        timezone="Pacific/Auckland",
        latitude=-36.8,
        longitude=174.7,
    )


def test_train_is_accepted_with_location(owner_client, city):
    response = owner_client.post(f"/api/v1/cities/{city.pk}/train/")
    assert response.status_code == 202
    job = response.json()["job"]
    assert response["Location"] == f"/api/v1/jobs/{job['id']}/"
    assert job["kind"] == "train" and job["state"] == "queued" and job["progress"] == 0
    assert Job.objects.get(pk=job["id"]).params == {"city": city.pk}


def test_train_another_orgs_city_is_404(stranger_client, city):
    response = stranger_client.post(f"/api/v1/cities/{city.pk}/train/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert not Job.objects.exists()


def test_model_list_is_scoped_and_filtered(owner_client, stranger_client, city, foreign_city):
    mine = make_version(city, 1, status="active")
    make_version(foreign_city, 1)
    body = owner_client.get(f"/api/v1/models/?city={city.pk}").json()
    assert body["count"] == 1 and body["results"][0]["id"] == mine.pk
    assert body["results"][0]["mape"] == 5.0
    assert owner_client.get("/api/v1/models/").json()["count"] == 1
    assert stranger_client.get(f"/api/v1/models/?city={city.pk}").json()["count"] == 0
    bad = owner_client.get("/api/v1/models/?city=abc")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid"


def test_model_detail(owner_client, stranger_client, city):
    model_version = make_version(city, 1)
    body = owner_client.get(f"/api/v1/models/{model_version.pk}/").json()
    assert body["status"] == "candidate" and body["metrics"]["model"]["mape"] == 5.0
    assert {"feature_importance", "quantiles", "backtest_start", "train_end"} <= set(body)
    assert stranger_client.get(f"/api/v1/models/{model_version.pk}/").status_code == 404


def test_promote_permissions_and_swap(owner_client, teammate_client, stranger_client, city):
    old = make_version(city, 1, status="active")
    new = make_version(city, 2)
    url = f"/api/v1/models/{new.pk}/promote/"

    assert stranger_client.post(url).status_code == 404
    forbidden = teammate_client.post(url)
    assert forbidden.status_code == 403
    assert forbidden.json()["error"]["code"] == "permission_denied"
    new.refresh_from_db()
    assert new.status == "candidate"

    response = owner_client.post(url)
    assert response.status_code == 200 and response.json()["status"] == "active"
    old.refresh_from_db()
    assert old.status == "retired"
