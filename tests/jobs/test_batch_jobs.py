"""Claiming and finishing a batch of jobs with one statement each, fenced like one job."""

import pytest

from jobs.models import Job
from jobs.services import (
    job_create,
    jobs_claim_queued,
    jobs_result_write,
    jobs_succeed_many,
)

pytestmark = pytest.mark.django_db


def new_job(org, kind=Job.Kind.FORECAST):
    return job_create(organization=org, user=None, kind=kind, params={"n": 1})[0]


def test_a_batch_is_claimed_oldest_first_under_one_token(org, settings):
    jobs = [new_job(org) for _ in range(5)]
    new_job(org, kind=Job.Kind.TRAIN)
    claimed = jobs_claim_queued(Job.Kind.FORECAST, 3)
    assert [j.pk for j in claimed] == [j.pk for j in jobs[:3]]
    assert len({j.worker for j in claimed}) == 1
    assert all(j.state == Job.State.RUNNING and j.attempts == 1 for j in claimed)
    assert all(j.lease_expires_at is not None for j in claimed)
    assert claimed[0].organization == org  # loaded with the claim (the log context)
    rest = jobs_claim_queued(Job.Kind.FORECAST, 10)
    assert [j.pk for j in rest] == [j.pk for j in jobs[3:]]
    assert jobs_claim_queued(Job.Kind.FORECAST, 10) == []


def test_a_queued_job_with_its_attempts_spent_fails_instead_of_running(org, settings):
    spent, fresh = new_job(org), new_job(org)
    Job.objects.filter(pk=spent.pk).update(attempts=settings.JOB_MAX_ATTEMPTS)
    assert [j.pk for j in jobs_claim_queued(Job.Kind.FORECAST, 10)] == [fresh.pk]
    spent.refresh_from_db()
    assert spent.state == Job.State.FAILED and spent.error["code"] == "worker_lost"


def test_finishing_a_batch_is_fenced_by_each_jobs_token(org):
    jobs = [new_job(org) for _ in range(3)]
    claimed = jobs_claim_queued(Job.Kind.FORECAST, 10)
    # The second job's lease lapsed and another worker holds it now.
    Job.objects.filter(pk=jobs[1].pk).update(worker="elsewhere:1:beef")
    with jobs_result_write(claimed) as held:
        assert held == {jobs[0].pk, jobs[2].pk}
        mine = [job for job in claimed if job.pk in held]
        assert jobs_succeed_many([(job, {"forecast_run": job.pk.int % 1000}) for job in mine]) == 2
    # A late success for the lost job changes nothing.
    assert jobs_succeed_many([(claimed[1], {"forecast_run": 0})]) == 0
    states = {job.pk: job for job in Job.objects.all()}
    for job in (jobs[0], jobs[2]):
        assert states[job.pk].state == Job.State.SUCCEEDED
        assert states[job.pk].result == {"forecast_run": job.pk.int % 1000}
        assert states[job.pk].progress == 100 and states[job.pk].lease_expires_at is None
    assert states[jobs[1].pk].state == Job.State.RUNNING
    assert states[jobs[1].pk].worker == "elsewhere:1:beef"


@pytest.mark.django_db(transaction=True)
def test_concurrent_batch_claims_never_share_a_job(org):
    """Three workers claiming batches at once (SKIP LOCKED, one UPDATE per batch)."""
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection

    jobs = {str(new_job(org).pk) for _ in range(60)}

    def claim_all() -> list[str]:
        claimed = []
        try:
            while batch := jobs_claim_queued(Job.Kind.FORECAST, 7):
                claimed += [str(job.pk) for job in batch]
        finally:
            connection.close()
        return claimed

    with ThreadPoolExecutor(max_workers=3) as pool:
        results = [f.result() for f in [pool.submit(claim_all) for _ in range(3)]]
    everything = [pk for result in results for pk in result]
    assert len(everything) == len(set(everything)) == 60
    assert set(everything) == jobs
    assert Job.objects.filter(state=Job.State.RUNNING, attempts=1).count() == 60
