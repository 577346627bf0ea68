"""The Job lifecycle: create, enqueue on commit, claim, report progress, finish, recover.

Every state change is a compare-and-set (``filter(state=...).update(...)``) so two
workers, or a worker and a client cancelling, can never both win. Messages go to the
task that jobs/registry.py names for the job's kind.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

import structlog
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from kombu.exceptions import OperationalError as KombuOperationalError

import errors
from jobs.models import Job
from jobs.registry import job_task_for

log = structlog.get_logger(__name__)


class BrokerUnavailable(errors.Unavailable):
    """The job was stored but could not be handed to the broker (the client gets a 503)."""

    code = "broker_unavailable"

    def __init__(self):
        # The broker's own error names internal hosts: it is logged, not shown.
        super().__init__("The task queue is unavailable; retry shortly.")


class JobCancelled(Exception):
    pass


def request_key_for(organization_id: int, kind: str, params: dict) -> str:
    payload = json.dumps([organization_id, kind, params], sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()


def job_create(
    *,
    organization,
    user,
    kind: str,
    params: dict,
    request_key: str = "",
    idempotency_key: str = "",
    reuse_since: datetime | None = None,
) -> tuple[Job, bool]:
    """Create a queued job, or return the live one for the same request.

    A request repeating one already answered (same key, not failed or cancelled)
    gets the existing job, which is what makes client retries safe.
    """
    reusable = Job.objects.filter(organization=organization).exclude(
        state__in=[Job.State.FAILED, Job.State.CANCELLED]
    )
    if idempotency_key:
        existing = Job.objects.filter(
            organization=organization, idempotency_key=idempotency_key
        ).first()
        if existing is not None:
            return _idempotent_replay(existing, kind, params), False
    if request_key:
        if reuse_since is not None:
            reusable = reusable.filter(created_at__gte=reuse_since)
        existing = reusable.filter(kind=kind, request_key=request_key).first()
        if existing is not None:
            return existing, False
    try:
        with transaction.atomic():
            job = Job.objects.create(
                organization=organization,
                user=user if getattr(user, "pk", None) else None,
                kind=kind,
                params=params,
                request_key=request_key,
                idempotency_key=idempotency_key,
            )
    except IntegrityError:
        # A concurrent request with the same Idempotency-Key won the race.
        existing = Job.objects.get(organization=organization, idempotency_key=idempotency_key)
        return _idempotent_replay(existing, kind, params), False
    return job, True


def _idempotent_replay(existing: Job, kind: str, params: dict) -> Job:
    """The job an Idempotency-Key already names, if the request really is the same.

    Reusing a key for a different request is a client bug; answering with the old
    job would silently drop the new request, so it is a 409 instead.
    """
    same_params = all(existing.params.get(key) == value for key, value in params.items())
    if existing.kind != kind or not same_params:
        raise errors.Conflict(
            "This Idempotency-Key was already used for a different request.",
            code="idempotency_key_reused",
            details={"job": str(existing.pk), "kind": existing.kind},
        )
    return existing


def job_enqueue(job: Job) -> None:
    """Send the job's task (jobs/registry.py) once the surrounding transaction commits.

    Raises BrokerUnavailable (the API turns it into a 503) and marks the job
    failed so that it is visibly not going to run; nothing accepted is lost
    because the client was never told "accepted".
    """

    # The task id is written with the job, before the message exists: writing it after
    # the send locked the row just when an idle worker's claim (SELECT ... FOR UPDATE SKIP
    # LOCKED) looked for it, and that worker skipped the job, which then waited for the
    # recovery task (found by bench/accuracy.py --via-api).
    task_id = job.celery_task_id or str(uuid.uuid4())
    if not job.celery_task_id:
        Job.objects.filter(pk=job.pk, celery_task_id="").update(celery_task_id=task_id)
        job.celery_task_id = task_id

    def send() -> None:
        try:
            job_task_for(job.kind).apply_async(
                args=[str(job.pk)],
                task_id=task_id,
                retry=True,
                retry_policy=settings.CELERY_PUBLISH_RETRY_POLICY,
            )
        except (KombuOperationalError, ConnectionError, OSError, RuntimeError) as exc:
            log.error("broker_unavailable", job_id=str(job.pk), error=str(exc))
            job_fail(job, "broker_unavailable", "The task queue is unavailable; retry later.")
            raise BrokerUnavailable() from exc

    transaction.on_commit(send, robust=False)


def job_claim(job_id) -> Job | None:
    """Move a queued job to running; None if someone else has it or it is over."""
    now = timezone.now()
    claimed = Job.objects.filter(pk=job_id, state=Job.State.QUEUED).update(
        state=Job.State.RUNNING, started_at=now, progress=0
    )
    if not claimed:
        return None
    job = Job.objects.get(pk=job_id)
    Job.objects.filter(pk=job_id).update(attempts=job.attempts + 1)
    job.attempts += 1
    return job


def job_claim_batch(kind: str, limit: int) -> list[Job]:
    """Claim up to ``limit`` queued jobs of one kind, oldest first, skipping locked rows."""
    with transaction.atomic():
        candidates = list(
            Job.objects.select_for_update(skip_locked=True)
            .filter(kind=kind, state=Job.State.QUEUED)
            .order_by("created_at")
            .values_list("pk", flat=True)[:limit]
        )
        claimed = []
        for pk in candidates:
            job = job_claim(pk)
            if job is not None:
                claimed.append(job)
    return claimed


def job_progress(job: Job, progress: int) -> None:
    """Record progress; raise JobCancelled if the client cancelled meanwhile."""
    progress = max(0, min(99, int(progress)))
    updated = Job.objects.filter(pk=job.pk, state=Job.State.RUNNING).update(progress=progress)
    if not updated:
        raise JobCancelled(str(job.pk))
    job.progress = progress


def job_succeed(job: Job, result: dict) -> bool:
    done = Job.objects.filter(pk=job.pk, state=Job.State.RUNNING).update(
        state=Job.State.SUCCEEDED,
        progress=100,
        result=result,
        error=None,
        finished_at=timezone.now(),
    )
    job.state, job.result, job.progress = Job.State.SUCCEEDED, result, 100
    return bool(done)


def job_fail(job: Job, code: str, message: str, details: dict | None = None) -> bool:
    error = {"code": code, "message": message, "details": details or {}}
    done = Job.objects.filter(pk=job.pk, state__in=[Job.State.QUEUED, Job.State.RUNNING]).update(
        state=Job.State.FAILED, error=error, finished_at=timezone.now()
    )
    job.state, job.error = Job.State.FAILED, error
    return bool(done)


def job_cancel(job: Job) -> bool:
    cancelled = Job.objects.filter(
        pk=job.pk, state__in=[Job.State.QUEUED, Job.State.RUNNING]
    ).update(state=Job.State.CANCELLED, finished_at=timezone.now())
    if cancelled:
        job.refresh_from_db()
    return bool(cancelled)


def job_requeue_for_retry(job: Job) -> bool:
    return bool(
        Job.objects.filter(pk=job.pk, state=Job.State.RUNNING).update(state=Job.State.QUEUED)
    )


def job_run(task, job_id: str, work: Callable[[Job], dict]) -> None:
    """The body every job task shares: claim, work, record the outcome, retry bugs.

    ``work`` returns the job's result dict or raises a DomainError for a failure the
    client caused. Anything else is retried until ``JOB_MAX_ATTEMPTS``.
    """
    job = job_claim(job_id)
    if job is None:
        log.info("job_not_claimable", job_id=job_id)
        return
    structlog.contextvars.bind_contextvars(job_id=str(job.pk), job_kind=job.kind)
    try:
        result = work(job)
    except JobCancelled:
        log.info("job_cancelled", job_id=job_id)
        return
    except errors.DomainError as exc:
        job_fail(job, exc.code, exc.message, exc.details)
        log.info("job_failed", code=exc.code, message=exc.message)
        return
    except SoftTimeLimitExceeded:
        job_fail(job, "time_limit", "The job ran past its time limit.")
        return
    except Exception as exc:
        log.exception("job_error", attempts=job.attempts)
        if job.attempts < settings.JOB_MAX_ATTEMPTS and job_requeue_for_retry(job):
            raise task.retry(exc=exc, countdown=2**job.attempts, max_retries=None) from exc
        job_fail(job, "internal_error", f"The job failed after {job.attempts} attempts: {exc}")
        return
    job_succeed(job, result)
    log.info("job_succeeded")


def job_resend(job: Job) -> None:
    """Send the job's task again, now (claiming makes a duplicate message harmless)."""
    job_task_for(job.kind).apply_async(args=[str(job.pk)])


def jobs_recover_stale(*, queued_for: timedelta, running_for: timedelta) -> list[Job]:
    """Find work that fell through the cracks and make it runnable again.

    Queued jobs whose message was lost (a broker restarted without persistence) are
    sent again; duplicates are harmless because claiming is a compare-and-set. Jobs
    left "running" by a worker that died past the time limit go back to queued (and
    are sent), or fail once their attempts are spent. Returns the jobs sent again.
    """
    now = timezone.now()
    for job in Job.objects.filter(state=Job.State.RUNNING, started_at__lt=now - running_for):
        if job.attempts >= settings.JOB_MAX_ATTEMPTS:
            job_fail(job, "worker_lost", f"No worker finished the job in {job.attempts} attempts.")
        else:
            job_requeue_for_retry(job)
    stale = Job.objects.filter(state=Job.State.QUEUED, created_at__lt=now - queued_for)
    resend = list(stale.order_by("created_at")[:500])
    for job in resend:
        job_resend(job)
    return resend


def jobs_purge_finished(*, older_than: timedelta) -> int:
    cutoff = timezone.now() - older_than
    deleted, _ = Job.objects.filter(state__in=Job.FINISHED_STATES, finished_at__lt=cutoff).delete()
    return deleted
