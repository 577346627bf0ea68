"""Forecast requests: accept them as jobs, then answer them in batches."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import pandas as pd
import structlog
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

import errors
from forecasts import metrics
from forecasts.models import City, Forecast, ForecastRun, Job
from forecasts.services.jobs import (
    job_claim_batch,
    job_create,
    job_enqueue,
    job_fail,
    job_requeue_for_retry,
    job_succeed,
    request_key_for,
)

log = structlog.get_logger(__name__)

DEFAULT_QUANTILES = (0.05, 0.5, 0.95)


@dataclass(frozen=True)
class ForecastSpec:
    city: City
    start: datetime
    horizon_hours: int
    quantiles: tuple[float, ...] = DEFAULT_QUANTILES


def forecast_spec_validate(spec: ForecastSpec) -> ForecastSpec:
    """Reject starts that do not fall on the city's interval grid (UTC)."""
    start = pd.Timestamp(spec.start).tz_convert("UTC")
    step = pd.Timedelta(minutes=spec.city.resolution_minutes)
    if start != start.floor(step):
        raise errors.InvalidInput(
            f"start must fall on a {spec.city.resolution_minutes}-minute boundary; "
            f"got {spec.start.isoformat()}.",
            details={"field": "start"},
        )
    return spec


def forecast_backlog_check(organization_id: int, extra: int = 1) -> None:
    """Bounded backlog: past the limit new requests get 429 with Retry-After."""
    queued = Job.objects.filter(
        organization_id=organization_id, kind=Job.Kind.FORECAST, state=Job.State.QUEUED
    ).count()
    limit = settings.FORECAST_MAX_QUEUED_PER_ORG
    if queued + extra > limit:
        asked = f"{extra} more " if extra > 1 else "another "
        raise errors.BacklogFull(
            f"{queued} forecast requests are already queued for your organisation and "
            f"{asked}would pass the limit of {limit}; retry shortly.",
            details={
                "queued": queued,
                "requested": extra,
                "limit": limit,
                "retry_after_seconds": 30,
            },
        )


def forecast_request_create(
    *, organization_id: int, user, spec: ForecastSpec, idempotency_key: str = ""
) -> tuple[Job, bool]:
    """Accept one forecast request as a job (or return the job that already answers it)."""
    from training.selectors import model_version_active_for_city

    active = model_version_active_for_city(spec.city)
    params = {
        "city": spec.city.pk,
        "start": pd.Timestamp(spec.start).tz_convert("UTC").isoformat(),
        "horizon_hours": spec.horizon_hours,
        "quantiles": list(spec.quantiles),
    }
    # The same request against the same model gives the same answer: reuse its job.
    key_params = {**params, "model_version": active.pk if active else None}
    job, created = job_create(
        organization=spec.city.organization,
        user=user,
        kind=Job.Kind.FORECAST,
        params=params,
        request_key=request_key_for(organization_id, Job.Kind.FORECAST, key_params),
        idempotency_key=idempotency_key,
        reuse_since=timezone.now() - timedelta(seconds=settings.FORECAST_CACHE_SECONDS),
    )
    metrics.FORECAST_REQUESTS.labels(outcome="new" if created else "reused").inc()
    if created:
        from forecasts.tasks import forecast_batch

        job_enqueue(job, forecast_batch)
    return job, created


def _spec_from_job(job: Job) -> ForecastSpec:
    params = job.params
    try:
        city = City.objects.get(pk=params["city"], organization_id=job.organization_id)
    except City.DoesNotExist:
        raise errors.NotFound("The city no longer exists.", code="unknown_city") from None
    return ForecastSpec(
        city=city,
        start=pd.Timestamp(params["start"]).to_pydatetime(),
        horizon_hours=int(params["horizon_hours"]),
        quantiles=tuple(params.get("quantiles") or DEFAULT_QUANTILES),
    )


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
    from training.inference import ForecastRequest, forecast_many

    limit = min(limit or settings.FORECAST_BATCH_SIZE, 32)
    wait = settings.FORECAST_BATCH_WAIT_SECONDS if wait_seconds is None else wait_seconds
    if wait > 0:
        _wait_for_batch(limit, wait)
    jobs = job_claim_batch(Job.Kind.FORECAST, limit)
    if not jobs:
        return 0
    metrics.FORECAST_BATCH_SIZE.observe(len(jobs))
    now = timezone.now()
    for job in jobs:
        metrics.FORECAST_QUEUE_WAIT.observe((now - job.created_at).total_seconds())

    requests, specs, pending = [], {}, []
    for job in jobs:
        try:
            spec = _spec_from_job(job)
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
            if job.attempts >= settings.JOB_MAX_ATTEMPTS or not job_requeue_for_retry(job):
                job_fail(job, "internal_error", "Inference failed; the error has been logged.")
        raise
    metrics.INFERENCE_LATENCY.observe(time.perf_counter() - started)

    for job, result in zip(pending, results, strict=True):
        if isinstance(result, errors.DomainError):
            job_fail(job, result.code, result.message, result.details)
            continue
        try:
            run = forecast_run_store(job=job, spec=specs[job.pk], result=result)
        except Exception as exc:  # one bad request never fails its batch
            log.exception("forecast_store_failed", job_id=str(job.pk))
            job_fail(job, "internal_error", f"Storing the forecast failed: {exc}")
            continue
        job_succeed(job, {"forecast_run": run.pk, "quality": run.quality})
    log.info("forecast_batch_done", jobs=len(jobs))
    return len(jobs)


def forecast_run_store(*, job: Job | None, spec: ForecastSpec, result) -> ForecastRun:
    """Write one run and its points in one transaction."""
    quantiles = sorted(result.values)
    lower_q, upper_q = quantiles[0], quantiles[-1]
    with transaction.atomic():
        run = ForecastRun.objects.create(
            city=spec.city,
            model_version=result.model_version,
            method=result.method,
            quality=result.quality,
            quality_reason=result.quality_reason[:200],
            start=spec.start,
            horizon_hours=spec.horizon_hours,
            quantiles=quantiles,
            job=job,
        )
        points = []
        for i, ts in enumerate(result.index):
            values = {q: float(result.values[q][i]) for q in quantiles}
            points.append(
                Forecast(
                    run=run,
                    city=spec.city,
                    timestamp=ts.to_pydatetime(),
                    demand=values[0.5],
                    confidence_lower=values[lower_q],
                    confidence_upper=values[upper_q],
                    quantiles={str(q): v for q, v in values.items()},
                )
            )
        Forecast.objects.bulk_create(points, batch_size=1000)
    return run


def forecast_run_cache_key(run_id: int) -> str:
    return f"forecast-run:v1:{run_id}"


def forecast_run_cache_set(run: ForecastRun, payload: dict) -> None:
    cache.set(
        forecast_run_cache_key(run.pk),
        {"organization_id": run.city.organization_id, "data": payload},
        timeout=settings.FORECAST_CACHE_SECONDS,
    )


def forecasts_schedule_day_ahead(now: datetime | None = None) -> list[Job]:
    """Request tomorrow's forecast (local midnight, 24 h) for every active city."""
    now = pd.Timestamp(now or timezone.now()).tz_convert("UTC")
    jobs = []
    for city in City.objects.filter(is_active=True).select_related("organization"):
        local_midnight = (now.tz_convert(city.timezone) + pd.Timedelta(days=1)).normalize()
        spec = ForecastSpec(city=city, start=local_midnight.tz_convert("UTC"), horizon_hours=24)
        with transaction.atomic():
            job, _ = forecast_request_create(
                organization_id=city.organization_id, user=None, spec=spec
            )
        jobs.append(job)
    return jobs
