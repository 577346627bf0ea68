"""The batch: claim up to FORECAST_BATCH_SIZE queued forecast jobs and answer them with
one predict call per model (training/inference.py); each job is written and finished
on its own, so one bad request never fails its batch."""

from __future__ import annotations

import time

import pandas as pd
import structlog
from django.conf import settings
from django.utils import timezone

import errors
from forecasts import metrics
from forecasts.services import forecast_run_store, forecast_spec_from_job
from jobs.leases import JobLease
from jobs.models import Job
from jobs.services import (
    DATABASE_DOWN,
    JobCancelled,
    job_claim_batch,
    job_fail,
    job_log_context,
    job_requeue_for_retry,
    job_result_write,
    job_succeed,
)
from training.inference import ForecastRequest, forecast_many

log = structlog.get_logger(__name__)


def _wait_for_batch(limit: int, wait_seconds: float) -> None:
    """Give requests arriving at the same moment a short chance to share a batch."""
    deadline = time.monotonic() + wait_seconds
    while time.monotonic() < deadline:
        queued = Job.objects.filter(kind=Job.Kind.FORECAST, state=Job.State.QUEUED).count()
        if queued >= limit:
            return
        time.sleep(min(0.05, wait_seconds))


def forecast_batch_process(*, limit: int | None = None, wait_seconds: float | None = None) -> int:
    """Claim up to ``limit`` queued forecast jobs and answer them with one predict call.

    Returns how many jobs this call claimed. Each job is written and finished on its
    own, so one bad request never fails its batch.
    """
    limit = min(limit or settings.FORECAST_BATCH_SIZE, 32)
    wait = settings.FORECAST_BATCH_WAIT_SECONDS if wait_seconds is None else wait_seconds
    if wait > 0:
        _wait_for_batch(limit, wait)
    jobs = job_claim_batch(Job.Kind.FORECAST, limit)
    if not jobs:
        return 0
    # One heartbeat renews the leases of the whole batch (jobs/leases.py).
    with JobLease(jobs):
        _answer(jobs)
    log.info("forecast_batch_done", jobs=len(jobs))
    return len(jobs)


def _answer(jobs: list[Job]) -> None:
    metrics.FORECAST_BATCH_SIZE.observe(len(jobs))
    now = timezone.now()
    for job in jobs:
        metrics.FORECAST_QUEUE_WAIT.observe((now - job.created_at).total_seconds())

    requests, specs, pending = [], {}, []
    for job in jobs:
        try:
            spec = forecast_spec_from_job(job)
        except errors.DomainError as exc:
            job_fail(job, exc.code, exc.message, exc.details)
            continue
        specs[job.pk] = spec
        pending.append(job)
        requests.append(
            ForecastRequest(
                key=job.pk,
                city=spec.city,
                start=pd.Timestamp(spec.start).tz_convert("UTC"),
                horizon_hours=spec.horizon_hours,
                quantiles=spec.quantiles,
            )
        )
    started = time.perf_counter()
    try:
        results = forecast_many(requests) if requests else []
    except Exception:
        log.exception("forecast_batch_error", jobs=len(pending))
        for job in pending:
            if job.attempts >= settings.JOB_MAX_ATTEMPTS:
                job_fail(job, "internal_error", "Inference failed; the error has been logged.")
            else:
                job_requeue_for_retry(job)
        raise
    metrics.INFERENCE_LATENCY.observe(time.perf_counter() - started)

    for job, result in zip(pending, results, strict=True):
        with structlog.contextvars.bound_contextvars(**job_log_context(job)):
            _forecast_job_finish(job, specs[job.pk], result)


def _forecast_job_finish(job: Job, spec, result) -> None:
    if isinstance(result, errors.DomainError):
        job_fail(job, result.code, result.message, result.details)
        log.info("job_failed", code=result.code)
        return
    try:
        # The run and the job's success commit together, and only while the job is still
        # this batch's: exactly one run per job, however often it was claimed.
        with job_result_write(job):
            run = forecast_run_store(job=job, spec=spec, result=result)
            job_succeed(job, {"forecast_run": run.pk, "quality": run.quality})
    except JobCancelled:
        log.info("forecast_job_lost")
        return
    except DATABASE_DOWN:
        raise  # the leases lapse and the watchdog requeues what is left
    except Exception as exc:  # one bad request never fails its batch
        log.exception("forecast_store_failed")
        job_fail(job, "internal_error", f"Storing the forecast failed: {exc}")
        return
    log.info("job_succeeded", forecast_run=run.pk, quality=run.quality)
