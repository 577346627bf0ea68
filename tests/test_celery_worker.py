"""End to end through a real Celery worker and the real broker (Redis in CI)."""

import time

import pytest
from celery.contrib.testing.worker import start_worker

from energy_site.celery import app
from jobs.models import Job


def wait_for(job_id, timeout=90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = Job.objects.get(pk=job_id)
        if job.is_finished:
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} still {job.state} after {timeout} s")


@pytest.fixture
def redis_worker(transactional_db):
    with start_worker(
        app,
        queues=["inference", "training", "optimization"],
        pool="solo",
        perform_ping_check=False,
        shutdown_timeout=30,
    ) as worker:
        yield worker


@pytest.mark.needs_server
def test_a_forecast_request_runs_on_a_real_worker(redis_worker, owner_client, city_with_history):
    response = owner_client.post(
        "/api/v1/forecasts/",
        {"city": city_with_history.pk, "start": "2014-12-30T00:00:00+11:00", "horizon_hours": 24},
        format="json",
    )
    assert response.status_code == 202
    job = wait_for(response.json()["job"]["id"])
    assert job.state == Job.State.SUCCEEDED, job.error
    assert job.attempts == 1
    run = owner_client.get(f"/api/v1/forecast-runs/{job.result['forecast_run']}/").json()
    assert len(run["points"]) == 48


@pytest.mark.django_db(transaction=True)
def test_a_broker_outage_gives_503_and_a_visible_failed_job(owner_client, city_with_history):
    saved_url = app.conf.broker_url

    def use_broker(url):
        app.conf.broker_url = url
        app._pool = None  # forget pooled connections so the next publish dials `url`
        app.amqp._producer_pool = None

    def post():
        return owner_client.post(
            "/api/v1/forecasts/",
            {
                "city": city_with_history.pk,
                "start": "2014-12-30T00:00:00+11:00",
                "horizon_hours": 6,
            },
            format="json",
            HTTP_IDEMPOTENCY_KEY="retry-me",
        )

    use_broker("redis://127.0.0.1:9/0")  # nothing listens on the discard port
    try:
        response = post()
    finally:
        use_broker(saved_url)
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "broker_unavailable"
    job = Job.objects.get()
    assert job.state == Job.State.FAILED and job.error["code"] == "broker_unavailable"

    # Issue 10: the key was not captured by the job that never ran: the retry runs.
    retry = post()
    assert retry.status_code == 202, retry.content
    assert retry.json()["job"]["id"] != str(job.pk)
    assert retry.json()["job"]["state"] == "queued"
    assert post().json()["job"]["id"] == retry.json()["job"]["id"]  # and is then kept


@pytest.mark.django_db(transaction=True)
def test_a_broker_outage_fails_a_whole_batch_visibly(owner_client, city_with_history):
    """A batch POST during an outage: 503, every job it wrote failed (none left queued
    for the watchdog to run behind the client's back), and the retry is accepted."""
    saved_url = app.conf.broker_url
    items = [
        {"city": city_with_history.pk, "start": "2014-12-30T00:00:00+11:00", "horizon_hours": h}
        for h in range(1, 6)
    ]

    def use_broker(url):
        app.conf.broker_url = url
        app._pool = None
        app.amqp._producer_pool = None

    use_broker("redis://127.0.0.1:9/0")
    try:
        response = owner_client.post("/api/v1/forecasts/batch/", {"items": items}, format="json")
    finally:
        use_broker(saved_url)
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "broker_unavailable"
    failed = list(Job.objects.all())
    assert len(failed) == 5
    assert {job.state for job in failed} == {Job.State.FAILED}
    assert {job.error["code"] for job in failed} == {"broker_unavailable"}

    retry = owner_client.post("/api/v1/forecasts/batch/", {"items": items}, format="json")
    assert retry.status_code == 202
    new_ids = {job["id"] for job in retry.json()["jobs"]}
    assert len(new_ids) == 5 and not new_ids & {str(job.pk) for job in failed}
    assert Job.objects.filter(state=Job.State.QUEUED).count() == 5
    # Nothing runs them here: remove the retry's messages from this test's broker.
    with app.connection_for_write() as conn:
        conn.default_channel.queue_purge("inference")
