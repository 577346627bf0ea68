"""The job lifecycle: compare-and-set claiming, progress, cancellation, outcomes."""

import pytest

from jobs.models import Job
from jobs.services import (
    JobCancelled,
    job_cancel,
    job_claim,
    job_create,
    job_fail,
    job_progress,
    job_succeed,
    request_key_for,
)

pytestmark = pytest.mark.django_db


def new_job(org, kind=Job.Kind.FORECAST, **kwargs):
    return job_create(organization=org, user=None, kind=kind, params={"n": 1}, **kwargs)[0]


def test_a_job_is_claimed_once(org):
    job = new_job(org)
    first = job_claim(job.pk)
    second = job_claim(job.pk)
    assert first is not None and first.state == Job.State.RUNNING and first.attempts == 1
    assert second is None


def test_cancel_stops_a_running_job_at_its_next_progress_report(org):
    job = job_claim(new_job(org).pk)
    job_progress(job, 40)
    assert job_cancel(Job.objects.get(pk=job.pk))
    with pytest.raises(JobCancelled):
        job_progress(job, 50)
    # A late success from the worker does not overwrite the cancellation.
    assert not job_succeed(job, {"x": 1})
    assert Job.objects.get(pk=job.pk).state == Job.State.CANCELLED


def test_finished_jobs_cannot_be_cancelled_or_failed(org):
    job = job_claim(new_job(org).pk)
    assert job_succeed(job, {"forecast_run": 1})
    assert not job_cancel(job)
    assert not job_fail(job, "x", "y")
    stored = Job.objects.get(pk=job.pk)
    assert (stored.state, stored.progress, stored.result) == ("succeeded", 100, {"forecast_run": 1})


def test_same_request_key_reuses_the_live_job_but_not_a_failed_one(org):
    key = request_key_for(org.pk, "forecast", {"city": 1})
    first = new_job(org, request_key=key)
    again, created = job_create(
        organization=org, user=None, kind="forecast", params={}, request_key=key
    )
    assert (again.pk, created) == (first.pk, False)
    job_fail(first, "boom", "failed")
    third, created = job_create(
        organization=org, user=None, kind="forecast", params={}, request_key=key
    )
    assert created and third.pk != first.pk


def test_idempotency_keys_are_per_organisation(org, other_org):
    mine = new_job(org, idempotency_key="abc")
    same = new_job(org, idempotency_key="abc")
    theirs = new_job(other_org, idempotency_key="abc")
    assert same.pk == mine.pk
    assert theirs.pk != mine.pk


def test_the_task_id_is_stored_before_the_message_is_sent(org, django_capture_on_commit_callbacks):
    """Nothing writes the job's row after its message is out: a worker claiming the job
    at once (SKIP LOCKED) would skip a row still locked by that write."""
    from jobs.services import job_enqueue

    job = new_job(org)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job_enqueue(job)
    stored = Job.objects.get(pk=job.pk).celery_task_id
    assert len(callbacks) == 1  # the send, after commit
    assert stored and stored == job.celery_task_id
