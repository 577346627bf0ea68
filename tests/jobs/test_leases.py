"""Leases, the fence around results, the watchdog and request reuse (docs/reliability.md).

Rows of issue 10's table: a killed worker's jobs come back within a lease, a redelivered
message reclaims its own job, a client's retry is not handed a stuck job, a job reclaimed
after a lapse writes exactly one result, and attempts are capped.
"""

import socket
import subprocess
from datetime import timedelta

import pytest
from django.utils import timezone

from jobs.leases import JobLease, lease_holder_is_dead
from jobs.models import Job
from jobs.services import (
    JobCancelled,
    job_claim,
    job_create,
    job_progress,
    job_result_write,
    job_succeed,
    jobs_watchdog_run,
    request_key_for,
)

pytestmark = pytest.mark.django_db


def new_job(org, kind=Job.Kind.OPTIMIZE, **kwargs):
    return job_create(organization=org, user=None, kind=kind, params={"n": 1}, **kwargs)[0]


def lapse(job):
    Job.objects.filter(pk=job.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))


def test_a_claim_takes_a_lease_with_a_fresh_worker_token(org, settings):
    settings.JOB_LEASE_SECONDS = 30
    job = job_claim(new_job(org).pk)
    assert job.worker.startswith(socket.gethostname() + ":")
    left = (job.lease_expires_at - timezone.now()).total_seconds()
    assert 25 < left <= 30
    assert job_claim(job.pk) is None  # held under a live lease


def test_a_redelivered_message_reclaims_its_job_once_the_lease_lapsed(org):
    first = job_claim(new_job(org).pk)
    lapse(first)
    second = job_claim(first.pk)
    assert second is not None and second.worker != first.worker and second.attempts == 2
    # The first worker lost the job: its progress, result and failure are refused.
    with pytest.raises(JobCancelled):
        job_progress(first, 50)
    with pytest.raises(JobCancelled), job_result_write(first):
        pass
    assert not job_succeed(first, {"dispatch": 1})
    with job_result_write(second):
        assert job_succeed(second, {"dispatch": 2})
    assert Job.objects.get(pk=first.pk).result == {"dispatch": 2}


def test_the_holder_of_a_live_lease_that_died_on_this_host_is_replaced_at_once(org):
    dead = subprocess.Popen(["true"])
    dead.wait()
    job = job_claim(new_job(org).pk)
    Job.objects.filter(pk=job.pk).update(worker=f"{socket.gethostname()}:{dead.pid}:dead")
    assert lease_holder_is_dead(f"{socket.gethostname()}:{dead.pid}:dead")
    assert not lease_holder_is_dead(f"another-host:{dead.pid}:x")
    again = job_claim(job.pk)
    assert again is not None and again.attempts == 2


def test_the_watchdog_requeues_lapsed_jobs_and_fails_them_past_the_attempts(org, settings):
    settings.JOB_MAX_ATTEMPTS = 2
    stuck = job_claim(new_job(org).pk)
    exhausted = job_claim(new_job(org).pk)
    healthy = job_claim(new_job(org).pk)
    Job.objects.filter(pk=exhausted.pk).update(attempts=2)
    lapse(stuck)
    lapse(exhausted)

    counts = jobs_watchdog_run()

    assert counts["lease_lapsed"] == 1 and counts["worker_lost"] == 1
    requeued = Job.objects.get(pk=stuck.pk)
    assert requeued.state == Job.State.QUEUED and requeued.worker == ""
    assert requeued.sent_at is not None  # sent again
    failed = Job.objects.get(pk=exhausted.pk)
    assert failed.state == Job.State.FAILED and failed.error["code"] == "worker_lost"
    assert Job.objects.get(pk=healthy.pk).state == Job.State.RUNNING


def test_a_poison_job_fails_after_its_attempts_instead_of_looping(org, settings):
    settings.JOB_MAX_ATTEMPTS = 3
    job = new_job(org)
    for attempt in range(1, 4):
        claimed = job_claim(job.pk)
        assert claimed.attempts == attempt
        lapse(claimed)  # the worker was killed again
    assert job_claim(job.pk) is None
    failed = Job.objects.get(pk=job.pk)
    assert failed.state == Job.State.FAILED and failed.error["code"] == "worker_lost"


def test_the_watchdog_resends_queued_jobs_whose_message_is_overdue(org, settings):
    settings.JOB_RESEND_MAX_SECONDS = 60
    waiting = new_job(org)
    overdue = new_job(org)
    long_ago = timezone.now() - timedelta(minutes=5)
    Job.objects.filter(pk__in=[waiting.pk, overdue.pk]).update(sent_at=timezone.now())
    Job.objects.filter(pk=overdue.pk).update(sent_at=long_ago, created_at=long_ago)
    jobs_watchdog_run()
    assert Job.objects.get(pk=overdue.pk).sent_at > long_ago
    assert Job.objects.get(pk=waiting.pk).state == Job.State.QUEUED


def test_the_heartbeat_renews_the_lease_and_notices_a_lost_job(org, settings):
    settings.JOB_LEASE_SECONDS = 30
    job = job_claim(new_job(org).pk)
    Job.objects.filter(pk=job.pk).update(lease_expires_at=timezone.now() + timedelta(seconds=2))
    lease = JobLease([job])
    lease.renew()
    renewed = Job.objects.get(pk=job.pk).lease_expires_at
    assert (renewed - timezone.now()).total_seconds() > 25
    lapse(job)
    job_claim(job.pk)  # another worker takes it
    lease.renew()
    assert lease.lost == {job.pk}


def test_a_retry_is_not_given_a_job_whose_worker_died(org):
    key = request_key_for(org.pk, "optimize", {"run": 1})
    first = new_job(org, request_key=key)
    assert new_job(org, request_key=key).pk == first.pk  # queued: healthy
    claimed = job_claim(first.pk)
    assert new_job(org, request_key=key).pk == first.pk  # running under a lease
    lapse(claimed)
    fresh = new_job(org, request_key=key)
    assert fresh.pk != first.pk and fresh.state == Job.State.QUEUED
