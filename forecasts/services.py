"""Writes of the forecasts app: accept forecast requests as jobs, store forecast runs,
request the day-ahead forecasts. forecasts/batch.py answers the jobs."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

import errors
from accounts.selectors import require_organization_id_cached
from cities.models import City
from forecasts import metrics
from forecasts.models import Forecast, ForecastRun
from forecasts.selectors import cities_for_forecast_requests
from jobs.models import Job
from jobs.services import (
    job_create,
    job_enqueue,
    jobs_create_many,
    jobs_enqueue_many,
    request_key_for,
)
from training.quantiles import DEFAULT_QUANTILES


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


def forecast_backlog_check(organization_id: int, extra: int = 1, queued: int | None = None) -> None:
    """Bounded backlog: past the limit new requests get 429 with Retry-After.

    ``queued`` is the organisation's count of queued forecast requests when the caller
    already read it (forecasts/selectors.py:cities_for_forecast_requests).
    """
    if queued is None:
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


def _request_params(organization_id: int, spec: ForecastSpec) -> tuple[dict, str]:
    """The job parameters of ``spec`` and its request key. The same request against the
    same model gives the same answer, so the key includes the active model version, read
    from the city's copy of it (training keeps it in the promoting transaction)."""
    params = {
        "city": spec.city.pk,
        "start": pd.Timestamp(spec.start).tz_convert("UTC").isoformat(),
        "horizon_hours": spec.horizon_hours,
        "quantiles": list(spec.quantiles),
    }
    key_params = {**params, "model_version": (spec.city.active_model or {}).get("id")}
    return params, request_key_for(organization_id, Job.Kind.FORECAST, key_params)


def _reuse_since() -> datetime:
    return timezone.now() - timedelta(seconds=settings.FORECAST_CACHE_SECONDS)


def forecast_requests_create(
    *, organization_id: int, user, specs: list[ForecastSpec]
) -> list[tuple[Job, bool]]:
    """Accept validated requests as jobs, in order, each with whether it is new: a
    healthy job of the same request is reused, new ones are written with one INSERT and
    sent once the surrounding transaction (if any) commits, one message per batch
    (jobs/services.py:jobs_enqueue_many)."""
    answered = jobs_create_many(
        organization_id=organization_id,
        user=user,
        kind=Job.Kind.FORECAST,
        requests=[_request_params(organization_id, spec) for spec in specs],
        reuse_since=_reuse_since(),
    )
    new_jobs = [job for job, created in answered if created]
    if new_jobs:
        metrics.FORECAST_REQUESTS.labels(outcome="new").inc(len(new_jobs))
    if len(answered) > len(new_jobs):
        metrics.FORECAST_REQUESTS.labels(outcome="reused").inc(len(answered) - len(new_jobs))
    jobs_enqueue_many(Job.Kind.FORECAST, new_jobs)
    return answered


def forecast_request_create(
    *, organization_id: int, user, spec: ForecastSpec, idempotency_key: str = ""
) -> tuple[Job, bool]:
    """Accept one forecast request as a job (or return the job that already answers it).
    The Idempotency-Key path: the key's job is looked up (and released after a broker
    outage) before the request key."""
    if not idempotency_key:
        return forecast_requests_create(organization_id=organization_id, user=user, specs=[spec])[0]
    params, request_key = _request_params(organization_id, spec)
    job, created = job_create(
        organization=spec.city.organization,
        user=user,
        kind=Job.Kind.FORECAST,
        params=params,
        request_key=request_key,
        idempotency_key=idempotency_key,
        reuse_since=_reuse_since(),
    )
    metrics.FORECAST_REQUESTS.labels(outcome="new" if created else "reused").inc()
    if created:
        job_enqueue(job)
    return job, created


def forecast_spec_for_city(city: City | None, data: dict) -> ForecastSpec:
    """The spec of one validated request (ForecastRequestSerializer) for ``city``, the
    caller's city of that id or None: a missing city is a 404, an inactive one a 422,
    a start off its grid a 400."""
    if city is None:
        raise errors.NotFound("No such city.")
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
    """The job that answers one validated request of ``user`` (new or reused).

    No transaction of its own: the reuse lookup and the INSERT run in autocommit, and
    the message goes out right after the INSERT. Two identical requests racing may get
    two jobs, which is harmless (each writes one run); an Idempotency-Key is what makes
    retries exact, and its job_create path keeps its own guard.
    """
    org_id = require_organization_id_cached(user)
    cities, queued = cities_for_forecast_requests(org_id, [data["city"]])
    spec = forecast_spec_for_city(cities.get(data["city"]), data)
    forecast_backlog_check(org_id, queued=queued)
    if idempotency_key:
        with transaction.atomic():
            job, _ = forecast_request_create(
                organization_id=org_id, user=user, spec=spec, idempotency_key=idempotency_key
            )
        return job
    return forecast_requests_create(organization_id=org_id, user=user, specs=[spec])[0][0]


def forecast_requests_accept_batch(*, user, items: list[dict]) -> list[Job]:
    """One job per validated request; one bad item refuses the whole batch, naming it.

    One query reads the cities (and the backlog), one finds reusable jobs, one INSERT
    writes the new jobs and one message per batch of the forecast runner sends them.
    """
    org_id = require_organization_id_cached(user)
    cities, queued = cities_for_forecast_requests(org_id, [item["city"] for item in items])
    specs = []
    for index, item in enumerate(items):
        try:
            specs.append(forecast_spec_for_city(cities.get(item["city"]), item))
        except errors.DomainError as exc:
            # The same class keeps the status; the code and message name the item.
            raise type(exc)(
                f"items[{index}]: {exc.message}", code="invalid_item", details={"index": index}
            ) from None
    forecast_backlog_check(org_id, extra=len(specs), queued=queued)
    answered = forecast_requests_create(organization_id=org_id, user=user, specs=specs)
    return [job for job, _ in answered]


def forecast_spec_from_job(job: Job) -> ForecastSpec:
    try:
        city = City.objects.get(pk=job.params["city"], organization_id=job.organization_id)
    except City.DoesNotExist:
        raise errors.NotFound("The city no longer exists.", code="unknown_city") from None
    return forecast_spec_of_job(job, city)


def forecast_spec_of_job(job: Job, city: City) -> ForecastSpec:
    """The spec of a forecast job whose city (``params["city"]``) is ``city``."""
    params = job.params
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
    with transaction.atomic():
        run = _forecast_run_unsaved(job, spec, result)
        run.save()
        Forecast.objects.bulk_create(_forecast_points(run, spec, result), batch_size=1000)
    return run


def forecast_runs_store(
    entries: list[tuple[Job | None, ForecastSpec, object]],
) -> list[ForecastRun]:
    """Write many runs (job, spec, result) with one INSERT of the runs and one of all
    their points (a forecast batch); in the caller's transaction, or one of its own."""
    with transaction.atomic():
        runs = ForecastRun.objects.bulk_create(
            [_forecast_run_unsaved(job, spec, result) for job, spec, result in entries]
        )
        if connection.vendor == "postgresql":
            _forecast_points_copy(runs, entries)
        else:
            points = [
                point
                for run, (_, spec, result) in zip(runs, entries, strict=True)
                for point in _forecast_points(run, spec, result)
            ]
            Forecast.objects.bulk_create(points)
    return runs


POINT_COLUMNS = ("run", "city", "timestamp", "demand", "confidence_lower", "confidence_upper")


def _forecast_points_copy(runs: list[ForecastRun], entries) -> None:
    """All points of ``runs`` with one COPY (PostgreSQL): a batch's 1,500 points cost
    about a tenth of an INSERT built by the ORM (bench/batch_throughput.py). The
    values are those _forecast_points gives the ORM: floats in their shortest exact
    form (repr), timestamps in UTC, quantiles as the same JSON."""
    lines = []
    for run, (_, spec, result) in zip(runs, entries, strict=True):
        quantiles = sorted(result.values)
        lower_q, upper_q = quantiles[0], quantiles[-1]
        columns = [np.asarray(result.values[q], dtype="float64").tolist() for q in quantiles]
        median, lower, upper = (columns[quantiles.index(q)] for q in (0.5, lower_q, upper_q))
        keys = [json.dumps(str(q)) for q in quantiles]
        prefix = f"{run.pk},{spec.city.pk},"
        for i, ts in enumerate(result.index.to_pydatetime()):
            # json.dumps writes floats with repr too; a CSV field doubles its quotes.
            document = ", ".join(f"{k}: {c[i]!r}" for k, c in zip(keys, columns, strict=True))
            document = "{" + document.replace('"', '""') + "}"
            lines.append(
                f'{prefix}{ts.isoformat()},{median[i]!r},{lower[i]!r},{upper[i]!r},"{document}"\n'
            )
    buffer = io.StringIO("".join(lines))
    buffer.seek(0)
    fields = [Forecast._meta.get_field(name).column for name in POINT_COLUMNS]
    table = connection.ops.quote_name(Forecast._meta.db_table)
    names = ", ".join(connection.ops.quote_name(c) for c in [*fields, "quantiles"])
    with connection.cursor() as cursor, connection.wrap_database_errors:
        cursor.cursor.copy_expert(f"COPY {table} ({names}) FROM STDIN WITH (FORMAT csv)", buffer)


def _forecast_run_unsaved(job: Job | None, spec: ForecastSpec, result) -> ForecastRun:
    quantiles = sorted(result.values)
    return ForecastRun(
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


def _forecast_points(run: ForecastRun, spec: ForecastSpec, result) -> list[Forecast]:
    quantiles = sorted(result.values)
    lower_q, upper_q = quantiles[0], quantiles[-1]
    columns = {q: np.asarray(result.values[q], dtype="float64").tolist() for q in quantiles}
    points = []
    for i, ts in enumerate(result.index.to_pydatetime()):
        values = {q: columns[q][i] for q in quantiles}
        points.append(
            Forecast(
                run=run,
                city=spec.city,
                timestamp=ts,
                demand=values[0.5],
                confidence_lower=values[lower_q],
                confidence_upper=values[upper_q],
                quantiles={str(q): v for q, v in values.items()},
            )
        )
    return points
