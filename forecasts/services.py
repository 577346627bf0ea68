"""Writes of the forecasts app: accept forecast requests as jobs, store forecast runs,
request the day-ahead forecasts. forecasts/batch.py answers the jobs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import pandas as pd
from django.conf import settings
from django.db import transaction
from django.utils import timezone

import errors
from accounts.selectors import require_organization_id
from cities.models import City
from cities.selectors import city_get_for_user
from forecasts import metrics
from forecasts.models import Forecast, ForecastRun
from jobs.models import Job
from jobs.services import job_create, job_enqueue, request_key_for
from training.quantiles import DEFAULT_QUANTILES
from training.selectors import model_version_active_for_city


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
        job_enqueue(job)
    return job, created


def forecast_spec_from_request(user, data: dict) -> ForecastSpec:
    """The spec of one validated request (ForecastRequestSerializer) of ``user``: the
    city must be theirs (404) and active (422), the start on its grid (400)."""
    city = city_get_for_user(user, data["city"])
    if not city.is_active:
        raise errors.Unprocessable(f"{city.name} is not active.", code="city_inactive")
    return forecast_spec_validate(
        ForecastSpec(
            city=city,
            start=data["start"],
            horizon_hours=data["horizon_hours"],
            quantiles=tuple(data.get("quantiles") or DEFAULT_QUANTILES),
        )
    )


def forecast_request_accept(*, user, data: dict, idempotency_key: str = "") -> Job:
    """The job that answers one validated request of ``user`` (new or reused)."""
    org_id = require_organization_id(user)
    spec = forecast_spec_from_request(user, data)
    forecast_backlog_check(org_id)
    with transaction.atomic():
        job, _ = forecast_request_create(
            organization_id=org_id, user=user, spec=spec, idempotency_key=idempotency_key
        )
    return job


def forecast_requests_accept_batch(*, user, items: list[dict]) -> list[Job]:
    """One job per validated request; one bad item refuses the whole batch, naming it."""
    org_id = require_organization_id(user)
    specs = []
    for index, item in enumerate(items):
        try:
            specs.append(forecast_spec_from_request(user, item))
        except errors.DomainError as exc:
            # The same class keeps the status; the code and message name the item.
            raise type(exc)(
                f"items[{index}]: {exc.message}", code="invalid_item", details={"index": index}
            ) from None
    forecast_backlog_check(org_id, extra=len(specs))
    with transaction.atomic():
        return [
            forecast_request_create(organization_id=org_id, user=user, spec=spec)[0]
            for spec in specs
        ]


def forecast_spec_from_job(job: Job) -> ForecastSpec:
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
            weather=getattr(result, "weather", ForecastRun.Weather.NONE),
            weather_vintage=getattr(result, "weather_vintage", None),
            weather_note=getattr(result, "weather_note", "")[:200],
            calibration_shift=getattr(result, "calibration_shift", {}) or {},
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
