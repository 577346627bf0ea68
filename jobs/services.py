"""The Job lifecycle: create, enqueue on commit, claim under a lease, report progress,
finish behind a fence, and the watchdog that recovers what a fault left behind.

Every state change is a compare-and-set (``filter(state=...).update(...)``) so two
workers, or a worker and a client cancelling, can never both win. Every state change
also goes to jobs/rendered.py (``jobs_changed``), which replaces the job's cached
answer and wakes the requests waiting for it to finish. Messages go to the
task that jobs/registry.py names for the job's kind. docs/reliability.md explains the
leases, the watchdog and what each fault costs.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Callable
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import TypeVar

import structlog
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import IntegrityError, InterfaceError, OperationalError, connection, transaction
from django.db.models import Case, F, JSONField, Q, Value, When
from django.utils import timezone
from kombu.exceptions import OperationalError as KombuOperationalError

import errors
from httpapi.request_id import current_request_id
from jobs import metrics
from jobs.broker import broker_lost_messages, broker_queue_depth
from jobs.leases import JobLease, lease_expiry, lease_holder_is_dead, worker_token
from jobs.models import Job
from jobs.registry import (
    job_jobs_per_message,
    job_kinds_registered,
    job_message_send,
    job_queue_for,
    job_task_for,
)
from jobs.rendered import jobs_changed, jobs_forget

log = structlog.get_logger(__name__)


class BrokerUnavailable(errors.Unavailable):
    """The job was stored but could not be handed to the broker (the client gets a 503)."""

    code = "broker_unavailable"

    def __init__(self):
        # The broker's own error names internal hosts: it is logged, not shown.
        super().__init__("The task queue is unavailable; retry shortly.")


class JobCancelled(Exception):
    """The job is no longer this worker's: cancelled, or claimed again after its lease
    lapsed. The worker abandons it and writes nothing."""


T = TypeVar("T")


def request_key_for(organization_id: int, kind: str, params: dict) -> str:
    payload = json.dumps([organization_id, kind, params], sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()


def job_healthy_q() -> Q:
    """Jobs a repeated request may be given back: succeeded, queued, or running under a
    live lease. A job whose worker died (lease lapsed) is not reused: the client's retry
    gets a new job instead of the stuck one."""
    return (
        Q(state=Job.State.SUCCEEDED)
        | Q(state=Job.State.QUEUED)
        | Q(state=Job.State.RUNNING, lease_expires_at__gte=timezone.now())
    )


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
    """Create a queued job, or return the healthy one for the same request.

    A request repeating one already answered (same key, healthy: see job_healthy_q)
    gets the existing job, which is what makes client retries safe.
    """
    if idempotency_key:
        existing = Job.objects.filter(
            organization=organization, idempotency_key=idempotency_key
        ).first()
        if existing is not None and not _idempotency_key_release(existing):
            return _idempotent_replay(existing, kind, params), False
    if request_key:
        reusable = Job.objects.filter(organization=organization).filter(job_healthy_q())
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
                request_id=_current_request_id(),
            )
    except IntegrityError:
        # A concurrent request with the same Idempotency-Key won the race.
        existing = Job.objects.get(organization=organization, idempotency_key=idempotency_key)
        return _idempotent_replay(existing, kind, params), False
    return job, True


def jobs_create_many(
    *,
    organization_id: int,
    user,
    kind: str,
    requests: list[tuple[dict, str]],
    reuse_since: datetime | None = None,
) -> list[tuple[Job, bool]]:
    """The job of each ``(params, request_key)``, in order: the healthy job an earlier
    request with the same key made (see job_healthy_q), or a new queued one.

    One query finds the reusable jobs and one INSERT writes the new ones, whatever the
    number of requests (a 100-item batch POST made 300 queries one request at a time).
    Repeats inside ``requests`` share one job. New jobs carry their task id and
    ``sent_at`` from the start, so jobs_enqueue_many needs no UPDATE before the send.
    No Idempotency-Key here: job_create handles that case.
    """
    keys = sorted({key for _, key in requests if key})
    by_key: dict[str, Job] = {}
    for job in _jobs_reusable(organization_id, kind, keys, reuse_since):
        by_key.setdefault(job.request_key, job)  # the oldest healthy job answers, as before
    user_id = user.pk if getattr(user, "pk", None) else None
    request_id, now = _current_request_id(), timezone.now()
    answered: list[tuple[Job, bool]] = []
    new_jobs: list[Job] = []
    for params, key in requests:
        if key and key in by_key:
            answered.append((by_key[key], False))  # an earlier job, or a repeat in this list
            continue
        job = Job(
            organization_id=organization_id,
            user_id=user_id,
            kind=kind,
            params=params,
            request_key=key,
            request_id=request_id,
            celery_task_id=str(uuid.uuid4()),
            sent_at=now,
        )
        new_jobs.append(job)
        if key:
            by_key[key] = job
        answered.append((job, True))
    if len(new_jobs) == 1:
        # A plain INSERT in autocommit: bulk_create would wrap it in BEGIN/COMMIT.
        new_jobs[0].save(force_insert=True)
    elif new_jobs:
        Job.objects.bulk_create(new_jobs)
    return answered


def _jobs_reusable(
    organization_id: int, kind: str, keys: list[str], since: datetime | None
) -> list[Job]:
    """The healthy jobs (job_healthy_q's rule: succeeded, queued, or running under a
    live lease) of ``keys``, oldest first.

    Written as SQL because every forecast POST runs it: the ORM spelling took 0.98 ms to
    build and run, most of it building (measured 2026-12-04; the write path's budget
    is 5 ms). tests/forecasts/test_accept_fast.py holds it to job_healthy_q's answers.
    """
    if not keys:
        return []
    sql = (
        f"SELECT * FROM {Job._meta.db_table} WHERE organization_id = %s AND kind = %s"
        f" AND request_key IN ({', '.join(['%s'] * len(keys))})"
        " AND (state IN (%s, %s) OR (state = %s AND lease_expires_at >= %s))"
    )
    params = [organization_id, kind, *keys]
    params += [Job.State.SUCCEEDED, Job.State.QUEUED, Job.State.RUNNING, timezone.now()]
    if since is not None:
        sql += " AND created_at >= %s"
        params.append(since)
    return list(Job.objects.raw(sql + " ORDER BY created_at", params))


def jobs_enqueue_many(kind: str, jobs: list[Job]) -> None:
    """Send the messages that run ``jobs`` (new, queued, one kind) once the surrounding
    transaction commits: one message per registry batch of the kind
    (job_jobs_per_message), since one forecast message claims a whole batch.

    If the broker refuses, every one of ``jobs`` that is still queued is failed with
    ``broker_unavailable`` in one UPDATE and BrokerUnavailable (a 503) is raised: the
    client was not told "accepted", so nothing accepted is lost, and the failed jobs
    release their request keys (job_healthy_q) for the retry.
    """
    if not jobs:
        return
    per_message = job_jobs_per_message(kind)
    leaders = jobs[::per_message]

    def send() -> None:
        try:
            for job in leaders:
                job_message_send(
                    kind,
                    str(job.pk),
                    task_id=job.celery_task_id,
                    retry=True,
                    retry_policy=settings.CELERY_PUBLISH_RETRY_POLICY,
                )
        except (KombuOperationalError, ConnectionError, OSError, RuntimeError) as exc:
            log.error("broker_unavailable", jobs=len(jobs), error=str(exc))
            error = {
                "code": BrokerUnavailable.code,
                "message": "The task queue is unavailable; retry later.",
                "details": {},
            }
            failed_ids = [job.pk for job in jobs]
            Job.objects.filter(pk__in=failed_ids, state=Job.State.QUEUED).update(
                state=Job.State.FAILED, error=error, finished_at=timezone.now()
            )
            jobs_changed(failed_ids, finished=True)
            for job in jobs:
                job.state, job.error = Job.State.FAILED, error
                metrics.job_finished(job)
            raise BrokerUnavailable() from exc

    transaction.on_commit(send, robust=False)


def _current_request_id() -> str:
    """The id of the request being answered (httpapi/request_id.py); empty for jobs made
    by the scheduler, a command or a worker."""
    return current_request_id.get()[:64]


def _idempotency_key_release(existing: Job) -> bool:
    """Free the key of a job that failed before it ever ran (the broker refused it).

    The client was answered 503, not "accepted": its retry must run, not get the dead
    job back. Returns True if the key was released (compare-and-set on the failed job).
    """
    if existing.state != Job.State.FAILED or existing.attempts:
        return False
    if (existing.error or {}).get("code") != BrokerUnavailable.code:
        return False
    return bool(
        Job.objects.filter(pk=existing.pk, state=Job.State.FAILED, attempts=0).update(
            idempotency_key=""
        )
    )


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
    # The same holds for sent_at, which the watchdog reads (jobs_recover_stale).
    task_id = job.celery_task_id or str(uuid.uuid4())
    Job.objects.filter(pk=job.pk).update(celery_task_id=task_id, sent_at=timezone.now())
    job.celery_task_id = task_id

    def send() -> None:
        try:
            job_message_send(
                job.kind,
                str(job.pk),
                task_id=task_id,
                retry=True,
                retry_policy=settings.CELERY_PUBLISH_RETRY_POLICY,
            )
        except (KombuOperationalError, ConnectionError, OSError, RuntimeError) as exc:
            log.error("broker_unavailable", job_id=str(job.pk), error=str(exc))
            job_fail(job, "broker_unavailable", "The task queue is unavailable; retry later.")
            raise BrokerUnavailable() from exc

    transaction.on_commit(send, robust=False)


# Errors of a database that is unreachable or restarting (failover, a killed backend).
DATABASE_DOWN = (OperationalError, InterfaceError)


def with_database_retry(action: Callable[[], T], *, what: str) -> T:
    """Run ``action``, retrying with backoff while the database is unreachable.

    Used around claims: a worker that meets a failover keeps its message (not acked)
    and tries again for up to JOB_DATABASE_RETRY_SECONDS, reconnecting each time;
    past that the error propagates and the task is retried later by Celery.
    """
    deadline = time.monotonic() + settings.JOB_DATABASE_RETRY_SECONDS
    delay = 0.25
    while True:
        try:
            return action()
        except DATABASE_DOWN as exc:
            if time.monotonic() + delay > deadline:
                raise
            log.warning("database_retry", what=what, error=str(exc)[:200], delay=delay)
            connection.close()  # the next attempt opens a fresh connection
            time.sleep(delay)
            delay = min(delay * 2, 5.0)


def _claimable_q(now) -> Q:
    return Q(state=Job.State.QUEUED) | Q(state=Job.State.RUNNING, lease_expires_at__lt=now)


def _claim_once(job_id, worker: str) -> Job | None:
    now = timezone.now()
    claim = {
        "state": Job.State.RUNNING,
        "started_at": now,
        "progress": 0,
        "worker": worker,
        "lease_expires_at": lease_expiry(),
        "attempts": F("attempts") + 1,
    }
    jobs = Job.objects.filter(pk=job_id)
    max_attempts = settings.JOB_MAX_ATTEMPTS
    claimed = jobs.filter(_claimable_q(now), attempts__lt=max_attempts).update(**claim)
    if claimed:
        jobs_changed([job_id], finished=False)
    if not claimed:
        current = jobs.first()
        if current is None or current.is_finished:
            return None
        lapsed = current.state == Job.State.QUEUED or (
            current.lease_expires_at is not None and current.lease_expires_at < now
        )
        if current.state == Job.State.RUNNING and lease_holder_is_dead(current.worker):
            # Its holder died on this host (the OOM killer): no need to wait for the lease.
            lapsed = True
            if current.attempts < max_attempts:
                claimed = jobs.filter(state=Job.State.RUNNING, worker=current.worker).update(
                    **claim
                )
                if claimed:
                    jobs_changed([job_id], finished=False)
        if not claimed:
            if lapsed and current.attempts >= max_attempts:
                _job_fail_worker_lost(current)
            return None
    return jobs.select_related("organization").get()


def job_claim(job_id, *, worker: str | None = None) -> Job | None:
    """Take a job for this worker: a queued one, or a running one whose lease lapsed.

    None if another worker holds it, it is finished, or its attempts are spent (it is
    then failed with ``worker_lost``). One compare-and-set update claims, stamps a new
    worker token and lease, and counts the attempt.
    """
    worker = worker or worker_token()
    return with_database_retry(lambda: _claim_once(job_id, worker), what="job_claim")


def jobs_claim_queued(kind: str, limit: int) -> list[Job]:
    """Claim up to ``limit`` queued jobs of one kind, oldest first, skipping locked rows,
    with one UPDATE: one worker token and lease for all of them, each attempt counted.
    A queued job whose attempts are spent is failed with ``worker_lost`` instead, as
    job_claim does."""

    def claim() -> list[Job]:
        worker = worker_token()
        max_attempts = settings.JOB_MAX_ATTEMPTS
        with transaction.atomic():
            candidates = list(
                Job.objects.select_for_update(skip_locked=True)
                .filter(kind=kind, state=Job.State.QUEUED)
                .order_by("created_at")
                .values_list("pk", "attempts")[:limit]
            )
            runnable = [pk for pk, attempts in candidates if attempts < max_attempts]
            if runnable:
                # The rows are locked by this transaction: the update takes them all.
                Job.objects.filter(pk__in=runnable, state=Job.State.QUEUED).update(
                    state=Job.State.RUNNING,
                    started_at=timezone.now(),
                    progress=0,
                    worker=worker,
                    lease_expires_at=lease_expiry(),
                    attempts=F("attempts") + 1,
                )
            for job in Job.objects.filter(
                pk__in=[pk for pk, attempts in candidates if attempts >= max_attempts]
            ):
                _job_fail_worker_lost(job)
            claimed = list(
                Job.objects.filter(pk__in=runnable, state=Job.State.RUNNING, worker=worker)
                .select_related("organization")
                .order_by("created_at")
            )
            jobs_changed([job.pk for job in claimed], finished=False)
            return claimed

    return with_database_retry(claim, what="jobs_claim_queued")


@contextmanager
def jobs_result_write(jobs: list[Job]):
    """job_result_write for many jobs at once: one transaction, one locking read. Yields
    the ids of the jobs still running under this worker's token (write their results
    and call jobs_succeed_many inside the block); the others are no longer this
    worker's and get nothing written."""
    with transaction.atomic():
        tokens = {job.pk: job.worker for job in jobs}
        rows = (
            Job.objects.select_for_update()
            .filter(pk__in=list(tokens), state=Job.State.RUNNING)
            .values_list("pk", "worker")
        )
        yield {pk for pk, worker in rows if not tokens[pk] or worker == tokens[pk]}


def jobs_succeed_many(results: list[tuple[Job, dict]]) -> int:
    """job_succeed for many jobs with one UPDATE per worker token (one for a claimed
    batch), fenced the same way: only jobs still running under their token change.
    Returns how many did."""
    by_worker: dict[str, list[tuple[Job, dict]]] = {}
    for job, result in results:
        by_worker.setdefault(job.worker, []).append((job, result))
    done = 0
    now = timezone.now()
    for worker, group in by_worker.items():
        held = Job.objects.filter(pk__in=[job.pk for job, _ in group], state=Job.State.RUNNING)
        if worker:
            held = held.filter(worker=worker)
        result_of = Case(
            *(
                When(pk=job.pk, then=Value(result, output_field=JSONField()))
                for job, result in group
            ),
            output_field=JSONField(),
        )
        updated = held.update(
            state=Job.State.SUCCEEDED,
            progress=100,
            result=result_of,
            error=None,
            finished_at=now,
            lease_expires_at=None,
        )
        done += updated
        if updated == len(group):
            won = {job.pk for job, _ in group}
        elif updated:
            # Some were lost between the caller's lock and here (a caller outside
            # jobs_result_write): read which did succeed.
            won = set(
                Job.objects.filter(
                    pk__in=[job.pk for job, _ in group], state=Job.State.SUCCEEDED, finished_at=now
                ).values_list("pk", flat=True)
            )
        else:
            won = set()
        # One call for the batch: the finished renderings in one query and one pipeline.
        jobs_changed(list(won), finished=True)
        for job, result in group:
            if job.pk in won:
                job.state, job.result, job.progress = Job.State.SUCCEEDED, result, 100
                metrics.job_finished(job)
    return done


def job_progress(job: Job, progress: int) -> None:
    """Record progress; raise JobCancelled if the job is no longer this worker's
    (the client cancelled it, or its lease lapsed and another worker claimed it)."""
    progress = max(0, min(99, int(progress)))
    held = Job.objects.filter(pk=job.pk, state=Job.State.RUNNING)
    if job.worker:
        held = held.filter(worker=job.worker)
    if not held.update(progress=progress):
        raise JobCancelled(str(job.pk))
    jobs_changed([job.pk], finished=False)
    job.progress = progress


@contextmanager
def job_result_write(job: Job | None):
    """The fence around a job's result: one transaction in which the job row is locked
    and still held by this worker's token. Write the result rows and call job_succeed
    inside it; a worker that lost the job gets JobCancelled and writes nothing, so a job
    has exactly one forecast run, model version or dispatch result however often it ran.
    ``job=None`` (commands, benchmarks) is a plain transaction.
    """
    with transaction.atomic():
        if job is not None:
            held = Job.objects.select_for_update().filter(pk=job.pk, state=Job.State.RUNNING)
            if job.worker:
                held = held.filter(worker=job.worker)
            if not held.exists():
                raise JobCancelled(str(job.pk))
        yield


def job_succeed(job: Job, result: dict) -> bool:
    held = Job.objects.filter(pk=job.pk, state=Job.State.RUNNING)
    if job.worker:
        held = held.filter(worker=job.worker)
    done = held.update(
        state=Job.State.SUCCEEDED,
        progress=100,
        result=result,
        error=None,
        finished_at=timezone.now(),
        lease_expires_at=None,
    )
    if done:
        jobs_changed([job.pk], finished=True)
        job.state, job.result, job.progress = Job.State.SUCCEEDED, result, 100
        metrics.job_finished(job)
    return bool(done)


def job_fail(job: Job, code: str, message: str, details: dict | None = None) -> bool:
    """Fail an unfinished job. A job this worker claimed (``job.worker`` set) is failed
    only while it still carries that token: a worker never fails a job it lost."""
    error = {"code": code, "message": message, "details": details or {}}
    unfinished = Job.objects.filter(pk=job.pk, state__in=[Job.State.QUEUED, Job.State.RUNNING])
    if job.worker:
        unfinished = unfinished.filter(worker=job.worker)
    done = unfinished.update(
        state=Job.State.FAILED, error=error, finished_at=timezone.now(), lease_expires_at=None
    )
    if done:
        jobs_changed([job.pk], finished=True)
        job.state, job.error = Job.State.FAILED, error
        metrics.job_finished(job)
    return bool(done)


def _job_fail_worker_lost(job: Job) -> bool:
    return job_fail(
        job,
        "worker_lost",
        f"No worker finished the job in {job.attempts} attempts.",
        {"attempts": job.attempts},
    )


def job_cancel(job: Job) -> bool:
    cancelled = Job.objects.filter(
        pk=job.pk, state__in=[Job.State.QUEUED, Job.State.RUNNING]
    ).update(state=Job.State.CANCELLED, finished_at=timezone.now(), lease_expires_at=None)
    if cancelled:
        jobs_changed([job.pk], finished=True)
        job.refresh_from_db()
        metrics.job_finished(job)
    return bool(cancelled)


def job_requeue_for_retry(job: Job) -> bool:
    """Put a job this worker holds back in the queue (its retry message is on its way)."""
    held = Job.objects.filter(pk=job.pk, state=Job.State.RUNNING)
    if job.worker:
        held = held.filter(worker=job.worker)
    requeued = held.update(
        state=Job.State.QUEUED, worker="", lease_expires_at=None, sent_at=timezone.now()
    )
    if requeued:
        jobs_changed([job.pk], finished=False)
    return bool(requeued)


def job_log_context(job: Job) -> dict:
    """The fields every log line about ``job`` carries (energy_site/logging.py)."""
    return {
        "job_id": str(job.pk),
        "job_kind": job.kind,
        "organization": job.organization.slug,
        "request_id": job.request_id or None,
    }


def job_run(task, job_id: str, work: Callable[[Job], dict]) -> None:
    """The body every job task shares: claim, work under a lease, record the outcome.

    ``work`` returns the job's result dict or raises a DomainError for a failure the
    client caused; a ``work`` that writes result rows does so inside
    ``job_result_write`` and calls job_succeed there. Anything else is retried until
    ``JOB_MAX_ATTEMPTS``. A database outage at the claim retries the message (it is not
    acked as done); one during the work leaves the job to its lease: it lapses and
    the watchdog hands the job to a worker again.
    """
    try:
        job = job_claim(job_id)
    except DATABASE_DOWN as exc:
        raise task.retry(exc=exc, countdown=5, max_retries=None) from exc
    if job is None:
        log.info("job_not_claimable", job_id=job_id)
        return
    structlog.contextvars.bind_contextvars(**job_log_context(job))
    with JobLease([job]):
        try:
            result = work(job)
            if job.state != Job.State.SUCCEEDED:
                with job_result_write(job):
                    job_succeed(job, result)
        except JobCancelled:
            log.info("job_cancelled_or_lost", job_id=job_id)
            return
        except errors.DomainError as exc:
            job_fail(job, exc.code, exc.message, exc.details)
            log.info("job_failed", code=exc.code, message=exc.message)
            return
        except SoftTimeLimitExceeded:
            job_fail(job, "time_limit", "The job ran past its time limit.")
            return
        except DATABASE_DOWN:
            log.exception("job_database_lost", attempts=job.attempts)
            return  # the lease lapses; the watchdog requeues it once the database is back
        except Exception as exc:
            log.exception("job_error", attempts=job.attempts)
            if job.attempts < settings.JOB_MAX_ATTEMPTS and job_requeue_for_retry(job):
                metrics.JOB_RETRIES.labels(kind=job.kind).inc()
                raise task.retry(exc=exc, countdown=2**job.attempts, max_retries=None) from exc
            job_fail(job, "internal_error", f"The job failed after {job.attempts} attempts: {exc}")
            return
    log.info("job_succeeded")


def job_resend(job: Job) -> None:
    """Send the job's task again, now (claiming makes a duplicate message harmless)."""
    job_message_send(job.kind, str(job.pk))
    Job.objects.filter(pk=job.pk, state=Job.State.QUEUED).update(sent_at=timezone.now())


def _resend(jobs: list[Job]) -> list[Job]:
    """Re-send ``jobs`` (queued), one message per registry batch of each kind."""
    sent = []
    by_kind: dict[str, list[Job]] = {}
    for job in jobs:
        by_kind.setdefault(job.kind, []).append(job)
    for kind, group in by_kind.items():
        per_message = job_jobs_per_message(kind)
        for index, job in enumerate(group):
            try:
                if index % per_message == 0:
                    job_resend(job)
                else:  # answered by the message of its batch
                    Job.objects.filter(pk=job.pk, state=Job.State.QUEUED).update(
                        sent_at=timezone.now()
                    )
            except (KombuOperationalError, ConnectionError, OSError) as exc:
                log.warning("job_resend_failed", job_id=str(job.pk), error=str(exc)[:200])
                return sent  # the broker is away; the next watchdog run tries again
            sent.append(job)
    return sent


def jobs_watchdog_run() -> dict:
    """Make every unfinished job runnable again within a minute of a fault.

    1. Running jobs whose lease lapsed (their worker was killed) go back to queued and
       are re-sent, or fail with ``worker_lost`` once their attempts are spent.
    2. If the broker came back empty (jobs/broker.py), every queued job is re-sent.
    3. A queued job whose last message is older than JOB_RESEND_SECONDS is re-sent if
       its queue in the broker is empty (its message is gone), and in any case once it
       is older than JOB_RESEND_MAX_SECONDS.

    Returns counts per rule. Duplicate messages are harmless: claims compare-and-set.
    """
    now = timezone.now()
    requeued, failed = [], 0
    lapsed = Job.objects.filter(state=Job.State.RUNNING).filter(
        Q(lease_expires_at__lt=now)
        | Q(lease_expires_at__isnull=True, started_at__lt=now - _lease())  # claimed before leases
    )
    for job in lapsed:
        if job.attempts >= settings.JOB_MAX_ATTEMPTS:
            failed += _job_fail_worker_lost(job)
            continue
        moved = Job.objects.filter(pk=job.pk, state=Job.State.RUNNING, worker=job.worker).update(
            state=Job.State.QUEUED, worker="", lease_expires_at=None
        )
        if moved:
            jobs_changed([job.pk], finished=False)
            requeued.append(job)
    if requeued:
        log.warning("jobs_lease_lapsed", jobs=[str(job.pk) for job in requeued])

    queued = Job.objects.filter(state=Job.State.QUEUED).order_by("created_at")
    app = _celery_app()
    broker_emptied = app is not None and broker_lost_messages(app)
    if broker_emptied:
        due = list(queued[:MAX_RESEND])
        log.warning("broker_lost_messages", queued=len(due))
    else:
        due = list(queued.filter(pk__in=[j.pk for j in requeued])) + _queued_without_message(
            queued, now, app
        )
    resent = _resend(due)
    return {
        "lease_lapsed": len(requeued),
        "worker_lost": failed,
        "broker_emptied": bool(broker_emptied),
        "resent": len(resent),
    }


MAX_RESEND = 2000  # per watchdog run; the next run takes the rest


def _lease() -> timedelta:
    return timedelta(seconds=settings.JOB_LEASE_SECONDS)


def _queued_without_message(queued, now, app) -> list[Job]:
    quiet = queued.filter(
        Q(sent_at__isnull=True, created_at__lt=now - timedelta(seconds=settings.JOB_RESEND_SECONDS))
        | Q(sent_at__lt=now - timedelta(seconds=settings.JOB_RESEND_SECONDS))
    )
    overdue_before = now - timedelta(seconds=settings.JOB_RESEND_MAX_SECONDS)
    due, depth_of = [], {}
    for job in quiet[:MAX_RESEND]:
        if (job.sent_at or job.created_at) < overdue_before:
            due.append(job)
            continue
        kind = job.kind
        if kind not in depth_of:
            depth_of[kind] = broker_queue_depth(app, job_queue_for(kind)) if app else None
        if depth_of[kind] == 0:
            due.append(job)  # nothing waits in its queue: its message is gone
    return due


def _celery_app():
    """The Celery app the registered tasks belong to (None before any is registered)."""
    kinds = job_kinds_registered()
    return job_task_for(next(iter(kinds))).app if kinds else None


def jobs_purge_finished(*, older_than: timedelta) -> int:
    cutoff = timezone.now() - older_than
    purged = Job.objects.filter(state__in=Job.FINISHED_STATES, finished_at__lt=cutoff)
    ids = list(purged.values_list("pk", flat=True))
    deleted = 0
    for start in range(0, len(ids), 1000):
        chunk = ids[start : start + 1000]
        deleted += Job.objects.filter(pk__in=chunk).delete()[0]
        jobs_forget(chunk)  # their cached answers go with them (jobs/rendered.py)
    return deleted
