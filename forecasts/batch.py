"""The batch: claim up to FORECAST_BATCH_SIZE queued forecast jobs and answer them
together, so that a batch costs little more than one request:

- claim: one UPDATE (jobs.services.jobs_claim_queued), the cities of all jobs in one query;
- compute: training/inference.py reads the observations of all cities in one query,
  builds one feature pass per city and predicts once per model version, with the
  models kept in a bounded in-process cache (training/artifacts.py);
- write: every run with one INSERT and all their points with another, behind one
  locking read of the jobs (the fence: exactly one run per job);
- finish: one UPDATE for every job that succeeded.

A request that fails (a DomainError of its own) fails alone; if the batched write
fails, each job is written and finished on its own, so one bad row never fails its
batch either."""

from __future__ import annotations

import time

import pandas as pd
import structlog
from django.conf import settings
from django.utils import timezone

import errors
from cities.models import City
from forecasts import metrics
from forecasts.services import (
    forecast_run_store,
    forecast_runs_store,
    forecast_spec_of_job,
)
from jobs.leases import JobLease
from jobs.models import Job
from jobs.services import (
    DATABASE_DOWN,
    JobCancelled,
    job_fail,
    job_log_context,
    job_requeue_for_retry,
    job_result_write,
    job_succeed,
    jobs_claim_queued,
    jobs_result_write,
    jobs_succeed_many,
)
from training.inference import ForecastRequest, forecast_many

log = structlog.get_logger(__name__)


def _wait_for_batch(limit: int, wait_seconds: float) -> None:
    """Adaptive: dispatch at once when waiting would gain nothing (this request alone
    in the queue, or a full batch already there); while requests keep arriving (a
    burst, a batch POST being accepted), wait for them, up to ``wait_seconds``."""
    deadline = time.monotonic() + wait_seconds
    queued = _queued()
    while 1 < queued < limit and time.monotonic() < deadline:
        time.sleep(max(0.0, min(BATCH_POLL_SECONDS, deadline - time.monotonic())))
        now_queued = _queued()
        if now_queued <= queued:
            return  # no more arriving: waiting longer would only add latency
        queued = now_queued


BATCH_POLL_SECONDS = 0.02


def _queued() -> int:
    return Job.objects.filter(kind=Job.Kind.FORECAST, state=Job.State.QUEUED).count()


def forecast_batch_process(*, limit: int | None = None, wait_seconds: float | None = None) -> int:
    """Claim up to ``limit`` queued forecast jobs and answer them with one predict call.

    Returns how many jobs this call claimed. Each job is written and finished on its
    own, so one bad request never fails its batch.
    """
    limit = min(limit or settings.FORECAST_BATCH_SIZE, 32)
    wait = settings.FORECAST_BATCH_WAIT_SECONDS if wait_seconds is None else wait_seconds
    if wait > 0:
        _wait_for_batch(limit, wait)
    jobs = jobs_claim_queued(Job.Kind.FORECAST, limit)
    if not jobs:
        return 0
    # One heartbeat renews the leases of the whole batch (jobs/leases.py).
    with JobLease(jobs):
        _answer(jobs)
    log.info("forecast_batch_done", jobs=len(jobs))
    return len(jobs)


def forecast_batches_drain(*, seconds: float | None = None) -> tuple[int, bool]:
    """Answer batches while they come back full, for up to ``seconds``
    (FORECAST_DRAIN_SECONDS). Returns how many jobs were answered and whether work is
    probably left (the last batch was full when the time ran out).

    Why: the web sends one message per FORECAST_BATCH_SIZE jobs of *its* setting
    (jobs/registry.py), and a worker may run with a smaller batch (or meet jobs a
    message did not cover); a full batch means more may be queued, so the runner goes
    on instead of leaving those jobs to the watchdog's re-send a minute later.
    """
    budget = settings.FORECAST_DRAIN_SECONDS if seconds is None else seconds
    deadline = time.monotonic() + budget
    limit = min(settings.FORECAST_BATCH_SIZE, 32)
    total = 0
    while True:
        answered = forecast_batch_process(limit=limit)
        total += answered
        if answered < limit:
            return total, False
        if time.monotonic() >= deadline:
            return total, True


def _answer(jobs: list[Job]) -> None:
    metrics.FORECAST_BATCH_SIZE.observe(len(jobs))
    now = timezone.now()
    for job in jobs:
        metrics.FORECAST_QUEUE_WAIT.observe((now - job.created_at).total_seconds())

    requests, specs, pending = [], {}, []
    for job, spec in zip(jobs, forecast_specs_from_jobs(jobs), strict=True):
        if isinstance(spec, errors.DomainError):
            job_fail(job, spec.code, spec.message, spec.details)
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

    answered = []
    for job, result in zip(pending, results, strict=True):
        if isinstance(result, errors.DomainError):
            with structlog.contextvars.bound_contextvars(**job_log_context(job)):
                job_fail(job, result.code, result.message, result.details)
                log.info("job_failed", code=result.code)
        else:
            answered.append((job, specs[job.pk], result))
    if answered:
        _store_and_finish(answered)


def forecast_specs_from_jobs(jobs: list[Job]) -> list:
    """forecast_spec_from_job of each job (its ForecastSpec or its DomainError), with one
    query for the cities of all of them."""
    ids = {_city_id(job) for job in jobs} - {None}
    cities = {city.pk: city for city in City.objects.filter(pk__in=ids)}
    specs = []
    for job in jobs:
        city = cities.get(_city_id(job))
        if city is None or city.organization_id != job.organization_id:
            specs.append(errors.NotFound("The city no longer exists.", code="unknown_city"))
            continue
        try:
            specs.append(forecast_spec_of_job(job, city))
        except (KeyError, TypeError, ValueError) as exc:
            specs.append(errors.InvalidInput(f"The job's parameters are invalid: {exc}"))
    return specs


def _city_id(job: Job) -> int | None:
    try:
        return int(job.params["city"])
    except (KeyError, TypeError, ValueError):
        return None


def _store_and_finish(answered: list[tuple[Job, object, object]]) -> None:
    """Write every run and finish every job of the batch in one transaction; if that
    fails, each job on its own (one bad request never fails its batch)."""
    try:
        with jobs_result_write([job for job, _, _ in answered]) as held:
            mine = [entry for entry in answered if entry[0].pk in held]
            runs = forecast_runs_store(mine)
            finished = jobs_succeed_many(
                [
                    (job, {"forecast_run": run.pk, "quality": run.quality})
                    for (job, _, _), run in zip(mine, runs, strict=True)
                ]
            )
            if finished != len(mine):  # the rows are locked: cannot happen; never half-write
                raise JobCancelled(f"{len(mine) - finished} jobs of the batch were lost")
    except DATABASE_DOWN:
        raise  # the leases lapse and the watchdog requeues what is left
    except Exception:
        log.exception("forecast_batch_store_failed", jobs=len(answered))
        for job, spec, result in answered:
            with structlog.contextvars.bound_contextvars(**job_log_context(job)):
                _forecast_job_finish(job, spec, result)
        return
    for job, _, _ in answered:
        with structlog.contextvars.bound_contextvars(**job_log_context(job)):
            if job.pk not in held:
                log.info("forecast_job_lost")
            else:
                log.info("job_succeeded", **job.result)


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
