"""What operators see of a job: the request that created it (carried into the worker's
log lines) and the outcome counters Prometheus reads."""

import pytest
from prometheus_client import REGISTRY

from jobs.models import Job
from jobs.services import job_cancel, job_claim, job_create, job_fail, job_log_context, job_succeed

pytestmark = pytest.mark.django_db

FORECAST = {"start": "2014-12-30T00:00:00+11:00", "horizon_hours": 6}


def _post_forecast(client, city, request_id):
    return client.post(
        "/api/v1/forecasts/",
        {"city": city.pk, **FORECAST},
        format="json",
        HTTP_X_REQUEST_ID=request_id,
    )


def test_a_job_keeps_the_id_of_the_request_that_created_it(owner_client, city_with_history):
    response = _post_forecast(owner_client, city_with_history, "trace-42")
    assert response.status_code == 202 and response["X-Request-ID"] == "trace-42"
    job = Job.objects.get(pk=response.json()["job"]["id"])
    assert job.request_id == "trace-42"
    assert job_log_context(job) == {
        "job_id": str(job.pk),
        "job_kind": "forecast",
        "organization": "vic",
        "request_id": "trace-42",
    }


@pytest.mark.parametrize("header", ["x" * 65, "line\nbreak", "has space", "caf\u00e9"])
def test_an_oversized_or_unprintable_request_id_is_replaced(
    owner_client, city_with_history, header
):
    response = _post_forecast(owner_client, city_with_history, header)
    assert response.status_code == 202
    made_up = response["X-Request-ID"]
    assert made_up != header and len(made_up) == 32
    assert Job.objects.get(pk=response.json()["job"]["id"]).request_id == made_up


def test_jobs_made_outside_a_request_have_no_request_id(org):
    job, _ = job_create(organization=org, user=None, kind=Job.Kind.TRAIN, params={})
    assert job.request_id == "" and job_log_context(job)["request_id"] is None


def _finished(kind, state):
    return REGISTRY.get_sample_value(
        "energy_forecast_jobs_finished_total", {"kind": kind, "state": state}
    )


def test_each_final_state_is_counted_once(org):
    before = {s: _finished("train", s) for s in ("succeeded", "failed", "cancelled")}
    jobs = [
        job_create(organization=org, user=None, kind="train", params={"n": n})[0] for n in range(3)
    ]
    job_succeed(job_claim(jobs[0].pk), {})
    failed = job_claim(jobs[1].pk)
    job_fail(failed, "boom", "it broke")
    job_fail(failed, "boom", "again")  # already failed: the update changes nothing
    job_cancel(jobs[2])
    job_cancel(jobs[2])
    after = {s: _finished("train", s) for s in ("succeeded", "failed", "cancelled")}
    assert {s: after[s] - before[s] for s in after} == {
        "succeeded": 1,
        "failed": 1,
        "cancelled": 1,
    }
