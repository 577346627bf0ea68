"""Accepting forecast requests cheaply (issue 11, "writes that accept fast"): a fixed
number of queries whatever the batch size, one message per batch of the runner, and
the same answers as before (order, reuse, tenancy, per-item errors)."""

from __future__ import annotations

import math

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from energy_site.celery import app
from jobs.broker import broker_queue_depth
from jobs.models import Job
from jobs.registry import job_queue_for
from tests.factories import make_city

pytestmark = pytest.mark.django_db

START = "2014-12-25T00:00:00+11:00"


def item(city, hours=24, start=START):
    return {"city": city.pk, "start": start, "horizon_hours": hours}


def post_batch(client, items):
    return client.post("/api/v1/forecasts/batch/", {"items": items}, format="json")


@pytest.fixture
def cities(org):
    return [make_city(org, f"City {n}") for n in range(3)]


@pytest.mark.needs_server  # SQLite splits a 100-row INSERT by its limit on variables
def test_a_batch_costs_the_same_queries_for_10_items_as_for_100(owner_client, cities):
    post_batch(owner_client, [item(cities[0], 1)])  # warm the organisation cache
    counts = {}
    for size, start in ((10, "2014-12-01T00:00:00+11:00"), (100, "2014-12-02T00:00:00+11:00")):
        items = [item(cities[n % 3], hours=1 + n, start=start) for n in range(size)]
        with CaptureQueriesContext(connection) as queries:
            response = post_batch(owner_client, items)
        assert response.status_code == 202, response.content
        assert len(response.json()["jobs"]) == size
        counts[size] = len(queries)
    # Cities with the backlog, the reusable jobs, one INSERT (nothing per item).
    assert counts[100] == counts[10] <= 4, counts
    assert Job.objects.count() == 1 + 10 + 100


def test_the_jobs_come_back_in_order_and_repeats_share_a_job(owner_client, cities):
    a, b = item(cities[0], 6), item(cities[1], 12)
    jobs = post_batch(owner_client, [a, b, a]).json()["jobs"]
    assert [job["state"] for job in jobs] == ["queued"] * 3
    assert jobs[0]["id"] == jobs[2]["id"] != jobs[1]["id"]
    assert Job.objects.count() == 2
    stored = Job.objects.get(pk=jobs[1]["id"])
    assert stored.params["city"] == cities[1].pk and stored.params["horizon_hours"] == 12
    # The single POST and the batch give the same request the same job.
    single = owner_client.post("/api/v1/forecasts/", b, format="json")
    assert single.status_code == 202 and single.json()["job"]["id"] == jobs[1]["id"]
    again = post_batch(owner_client, [b, item(cities[2], 3)]).json()["jobs"]
    assert again[0]["id"] == jobs[1]["id"] and Job.objects.count() == 3


def test_a_failed_job_is_not_reused(owner_client, cities):
    first = post_batch(owner_client, [item(cities[0])]).json()["jobs"][0]
    Job.objects.filter(pk=first["id"]).update(state=Job.State.FAILED)
    second = post_batch(owner_client, [item(cities[0])]).json()["jobs"][0]
    assert second["id"] != first["id"] and second["state"] == "queued"


def test_a_strangers_city_anywhere_in_the_batch_is_a_404_naming_it(
    owner_client, stranger_client, cities, other_org
):
    foreign = make_city(other_org, "Foreign")
    items = [item(cities[n % 3], 1 + n) for n in range(100)]
    items[57] = item(foreign)
    response = post_batch(owner_client, items)
    assert response.status_code == 404
    assert "items[57]" in response.json()["error"]["message"]
    # The other way round, and for a single request.
    assert post_batch(stranger_client, [item(cities[0])]).status_code == 404
    assert (
        stranger_client.post("/api/v1/forecasts/", item(cities[0]), format="json").status_code
        == 404
    )
    assert Job.objects.count() == 0


def test_an_inactive_city_is_a_422_and_nothing_is_accepted(owner_client, teammate_client, cities):
    cities[2].is_active = False
    cities[2].save()
    response = post_batch(teammate_client, [item(cities[0]), item(cities[2])])
    assert response.status_code == 422
    assert "items[1]" in response.json()["error"]["message"]
    assert (
        owner_client.post("/api/v1/forecasts/", item(cities[2]), format="json").status_code == 422
    )
    assert Job.objects.count() == 0


@pytest.mark.needs_server
@pytest.mark.parametrize("batch_size", [32, 10])
def test_one_message_per_batch_of_the_runner(
    owner_client, cities, settings, batch_size, django_capture_on_commit_callbacks
):
    """100 new jobs reach the broker as ceil(100 / FORECAST_BATCH_SIZE) messages: each
    message runs a batch that claims that many queued jobs (forecasts/batch.py)."""
    settings.FORECAST_BATCH_SIZE = batch_size
    queue = job_queue_for(Job.Kind.FORECAST)

    def purge():  # this test's broker database only (REDIS_URL), never another
        with app.connection_for_write() as conn:
            conn.default_channel.queue_purge(queue)

    purge()
    try:
        items = [item(cities[n % 3], 1 + n) for n in range(100)]
        with django_capture_on_commit_callbacks(execute=True):
            response = post_batch(owner_client, items)
        assert response.status_code == 202
        assert broker_queue_depth(app, queue) == math.ceil(100 / batch_size)
        assert Job.objects.filter(state=Job.State.QUEUED, sent_at__isnull=False).count() == 100
    finally:
        purge()


@pytest.mark.needs_server
def test_a_forecast_task_drains_full_batches_then_hands_the_rest_on(
    owner_client, city_with_history, settings
):
    """The web sends one message per batch of its own FORECAST_BATCH_SIZE; a worker with
    a smaller batch must still answer every job, not leave them to the watchdog."""
    from forecasts.tasks import forecast_batch

    queue = job_queue_for(Job.Kind.FORECAST)

    def purge():  # this test's broker database only (REDIS_URL)
        with app.connection_for_write() as conn:
            conn.default_channel.queue_purge(queue)

    items = [item(city_with_history, hours) for hours in (1, 2, 3, 4, 5, 6, 7)]
    ids = [job["id"] for job in post_batch(owner_client, items).json()["jobs"]]
    settings.FORECAST_BATCH_SIZE = 2
    settings.FORECAST_BATCH_WAIT_SECONDS = 0
    purge()
    try:
        # No time left after the first batch: it answers 2 and sends itself again.
        settings.FORECAST_DRAIN_SECONDS = 0
        assert forecast_batch(ids[0]) == 2
        assert broker_queue_depth(app, queue) == 1
        # With time, one message answers all the rest (3 full batches, then 1).
        settings.FORECAST_DRAIN_SECONDS = 30
        assert forecast_batch(ids[0]) == 5
    finally:
        purge()
    assert set(Job.objects.filter(pk__in=ids).values_list("state", flat=True)) == {"succeeded"}


def test_reuse_follows_the_health_rule_of_the_job_services(owner_client, cities):
    """The accept path's SQL (jobs/services.py:_jobs_reusable) gives back exactly the
    jobs job_healthy_q calls healthy: a running job only under a live lease."""
    from datetime import timedelta

    from django.utils import timezone

    from jobs.services import job_healthy_q

    ids = [job["id"] for job in post_batch(owner_client, [item(c) for c in cities]).json()["jobs"]]
    now = timezone.now()
    Job.objects.filter(pk=ids[0]).update(state="running", lease_expires_at=now + timedelta(60))
    Job.objects.filter(pk=ids[1]).update(state="running", lease_expires_at=now - timedelta(1))
    Job.objects.filter(pk=ids[2]).update(state="succeeded")
    healthy = set(map(str, Job.objects.filter(job_healthy_q()).values_list("pk", flat=True)))
    again = [
        job["id"] for job in post_batch(owner_client, [item(c) for c in cities]).json()["jobs"]
    ]
    assert {ids[0], ids[2]} == healthy & set(ids)
    assert again[0] == ids[0] and again[2] == ids[2]  # live lease, succeeded: reused
    assert again[1] not in ids  # the lapsed lease: a new job
