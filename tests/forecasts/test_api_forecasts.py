"""The forecast API: acceptance, validation, scoping, idempotency, batching, caching."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from forecasts.batch import forecast_batch_process
from forecasts.models import ForecastRun
from jobs.models import Job
from tests.factories import make_city

pytestmark = pytest.mark.django_db

START = "2014-12-25T00:00:00+11:00"


def request_forecast(client, target_city, **overrides):
    body = {"city": target_city.pk, "start": START, "horizon_hours": 24, **overrides}
    return client.post("/api/v1/forecasts/", body, format="json")


def test_a_forecast_request_is_accepted_as_a_job(owner_client, city_with_history):
    response = request_forecast(owner_client, city_with_history)
    assert response.status_code == 202
    job = response.json()["job"]
    assert response["Location"] == f"/api/v1/jobs/{job['id']}/"
    assert job["state"] == "queued" and job["kind"] == "forecast"


def test_the_batch_answers_each_job_with_a_forecast_run(owner_client, city_with_history):
    job = request_forecast(owner_client, city_with_history).json()["job"]
    assert forecast_batch_process(wait_seconds=0) == 1
    polled = owner_client.get(f"/api/v1/jobs/{job['id']}/").json()
    assert polled["state"] == "succeeded", polled
    run = owner_client.get(f"/api/v1/forecast-runs/{polled['result']['forecast_run']}/").json()
    assert len(run["points"]) == 48
    assert run["fallback"] is True  # no model trained yet: flagged, never a gap
    for point in run["points"]:
        assert point["confidence_lower"] <= point["demand"] <= point["confidence_upper"]


def test_a_repeated_request_gets_the_same_job(owner_client, teammate_client, city_with_history):
    first = request_forecast(owner_client, city_with_history).json()["job"]
    again = request_forecast(teammate_client, city_with_history).json()["job"]
    other = request_forecast(owner_client, city_with_history, horizon_hours=12).json()["job"]
    assert again["id"] == first["id"]
    assert other["id"] != first["id"]
    assert Job.objects.count() == 2


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"horizon_hours": 0}, "horizon_hours"),
        ({"horizon_hours": 169}, "horizon_hours"),
        ({"horizon_hours": "soon"}, "horizon_hours"),
        ({"start": "yesterday"}, "start"),
        ({"start": "2014-12-25T00:00:00"}, "start"),
        ({"start": "2014-12-25T00:10:00+11:00"}, "start"),
        ({"quantiles": [0.33]}, "quantiles"),
        ({"city": "Melbourne"}, "city"),
    ],
)
def test_bad_requests_get_a_400_and_change_nothing(owner_client, city, overrides, field):
    response = request_forecast(owner_client, city, **overrides)
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert field in error["message"] or field == error["details"].get("field")
    assert Job.objects.count() == 0


def test_an_unknown_or_foreign_city_is_a_404(owner_client, stranger_client, city):
    assert request_forecast(stranger_client, city).status_code == 404
    response = owner_client.post(
        "/api/v1/forecasts/", {"city": 999999, "start": START, "horizon_hours": 24}, format="json"
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert Job.objects.count() == 0


def test_the_stranger_sees_nothing(
    owner_client, teammate_client, stranger_client, city_with_history
):
    job = request_forecast(owner_client, city_with_history).json()["job"]
    forecast_batch_process(wait_seconds=0)
    run_id = Job.objects.get(pk=job["id"]).result["forecast_run"]
    assert teammate_client.get(f"/api/v1/jobs/{job['id']}/").status_code == 200
    assert teammate_client.get(f"/api/v1/forecast-runs/{run_id}/").status_code == 200
    assert stranger_client.get(f"/api/v1/jobs/{job['id']}/").status_code == 404
    assert stranger_client.get(f"/api/v1/forecast-runs/{run_id}/").status_code == 404
    assert stranger_client.delete(f"/api/v1/jobs/{job['id']}/").status_code == 404
    assert stranger_client.get("/api/v1/jobs/").json()["count"] == 0
    assert stranger_client.get("/api/v1/cities/").json()["count"] == 0
    assert stranger_client.get(f"/api/v1/cities/{city_with_history.pk}/").status_code == 404
    assert stranger_client.get("/api/v1/forecasts/").json()["count"] == 0
    assert stranger_client.get(f"/api/v1/forecasts/?city={city_with_history.pk}").status_code == 404


def test_a_malformed_job_id_is_a_404_not_a_500(owner_client):
    assert owner_client.get("/api/v1/jobs/not-a-uuid/").status_code == 404
    assert owner_client.get("/api/v1/jobs/00000000-0000-0000-0000-000000000000/").status_code == 404


def test_cancel_a_queued_job_then_a_second_cancel_conflicts(owner_client, city_with_history):
    job = request_forecast(owner_client, city_with_history).json()["job"]
    response = owner_client.delete(f"/api/v1/jobs/{job['id']}/")
    assert response.status_code == 202
    assert response.json()["job"]["state"] == "cancelled"
    assert owner_client.delete(f"/api/v1/jobs/{job['id']}/").status_code == 409
    # A cancelled job is never claimed by a batch.
    assert forecast_batch_process(wait_seconds=0) == 0


def test_the_backlog_is_bounded_with_429_and_retry_after(owner_client, city_with_history, settings):
    settings.FORECAST_MAX_QUEUED_PER_ORG = 2
    assert request_forecast(owner_client, city_with_history, horizon_hours=1).status_code == 202
    assert request_forecast(owner_client, city_with_history, horizon_hours=2).status_code == 202
    response = request_forecast(owner_client, city_with_history, horizon_hours=3)
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert Job.objects.count() == 2


def test_one_batch_answers_many_requests_and_a_bad_one_fails_alone(
    owner_client, city_with_history, city
):
    empty = make_city(city.organization, "Empty", timezone="Australia/Sydney")
    good = [request_forecast(owner_client, city_with_history, horizon_hours=h) for h in (6, 12, 24)]
    bad = request_forecast(owner_client, empty)
    assert forecast_batch_process(wait_seconds=0) == 4
    states = {str(j.pk): j for j in Job.objects.all()}
    for response in good:
        assert states[response.json()["job"]["id"]].state == Job.State.SUCCEEDED
    failed = states[bad.json()["job"]["id"]]
    assert failed.state == Job.State.FAILED
    assert failed.error["code"] == "insufficient_data"
    assert ForecastRun.objects.count() == 3


def test_batch_requests_return_one_job_per_item(owner_client, city_with_history):
    items = [{"city": city_with_history.pk, "start": START, "horizon_hours": h} for h in (1, 2, 3)]
    response = owner_client.post("/api/v1/forecasts/batch/", {"items": items}, format="json")
    assert response.status_code == 202
    assert len(response.json()["jobs"]) == 3
    bad = owner_client.post(
        "/api/v1/forecasts/batch/", {"items": [*items, {"city": 0}]}, format="json"
    )
    assert bad.status_code == 400
    assert Job.objects.count() == 3


def test_a_cached_forecast_run_is_served_without_the_database(owner_client, city_with_history):
    job = request_forecast(owner_client, city_with_history).json()["job"]
    forecast_batch_process(wait_seconds=0)
    run_id = Job.objects.get(pk=job["id"]).result["forecast_run"]
    first = owner_client.get(f"/api/v1/forecast-runs/{run_id}/").json()
    with CaptureQueriesContext(connection) as queries:
        second = owner_client.get(f"/api/v1/forecast-runs/{run_id}/").json()
    assert second == first
    assert len(queries) == 0, [q["sql"] for q in queries]


def test_latest_points_prefer_the_newest_run(owner_client, city_with_history):
    request_forecast(owner_client, city_with_history, horizon_hours=24)
    forecast_batch_process(wait_seconds=0)
    request_forecast(owner_client, city_with_history, horizon_hours=12)
    forecast_batch_process(wait_seconds=0)
    newest = ForecastRun.objects.order_by("-issued_at", "-pk").first()
    response = owner_client.get(
        f"/api/v1/forecasts/?city={city_with_history.pk}&start={START.replace('+', '%2B')}"
    )
    assert response.status_code == 200
    points = response.json()["results"]
    assert len(points) == 48  # 24 h of points, the first 12 h from the newer run
    assert {p["forecast_run"] for p in points[:24]} == {newest.pk}
    assert response.json()["count"] == 48
    assert owner_client.get("/api/v1/forecasts/?start=nonsense").status_code == 400


def test_a_batch_never_takes_more_than_32_requests(owner_client, city_with_history, settings):
    settings.FORECAST_BATCH_SIZE = 500  # settable, but 32 stays the hard cap
    for hours in range(1, 36):
        assert (
            request_forecast(owner_client, city_with_history, horizon_hours=hours).status_code
            == 202
        )
    assert forecast_batch_process(wait_seconds=0) == 32
    assert Job.objects.filter(state=Job.State.QUEUED).count() == 3
    assert forecast_batch_process(wait_seconds=0) == 3
