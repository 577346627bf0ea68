"""The beat tasks: day-ahead scheduling and cleanup (the watchdog: tests/jobs/test_leases.py)."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from forecasts.services import forecasts_schedule_day_ahead
from jobs.models import Job
from jobs.services import (
    job_claim,
    job_create,
    job_succeed,
    jobs_purge_finished,
)

pytestmark = pytest.mark.django_db


def test_day_ahead_requests_start_at_the_next_local_midnight(city):
    now = datetime(2014, 12, 1, 3, 0, tzinfo=UTC)  # 14:00 in Melbourne
    jobs = forecasts_schedule_day_ahead(now)
    assert len(jobs) == 1
    # 2 Dec 00:00 AEDT (UTC+11) = 1 Dec 13:00 UTC
    assert jobs[0].params["start"] == "2014-12-01T13:00:00+00:00"
    assert jobs[0].params["horizon_hours"] == 24
    # Running the schedule again in the same hour reuses the job.
    assert forecasts_schedule_day_ahead(now)[0].pk == jobs[0].pk


def test_inactive_cities_are_not_scheduled(city):
    city.is_active = False
    city.save()
    assert forecasts_schedule_day_ahead() == []


def _job(org):
    return job_create(organization=org, user=None, kind="forecast", params={})[0]


def test_old_finished_jobs_are_purged_and_live_ones_kept(org):
    done = job_claim(_job(org).pk)
    job_succeed(done, {})
    live = _job(org)
    Job.objects.filter(pk=done.pk).update(finished_at=timezone.now() - timedelta(days=40))
    assert jobs_purge_finished(older_than=timedelta(days=30)) == 1
    assert list(Job.objects.values_list("pk", flat=True)) == [live.pk]
