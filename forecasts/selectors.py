"""Reads of forecast runs and points, scoped to the caller's organisation (operators'
metrics read all)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from django.conf import settings
from django.core.cache import cache
from django.db.models import F, Max, QuerySet, Window
from django.db.models.functions import RowNumber

from accounts.selectors import require_organization_id, require_organization_id_cached
from cities.models import City
from errors import NotFound
from forecasts.models import Forecast, ForecastRun
from httpapi.params import is_database_id
from httpapi.rendered import Rendered, rendered_cached_for, rendered_json
from jobs.models import Job


def cities_for_forecast_requests(organization_id: int, city_ids) -> tuple[dict[int, City], int]:
    """The organisation's cities among ``city_ids`` (id -> City; others are simply
    absent: not found, or another tenant's) and how many of its forecast requests are
    queued, in one query: the backlog count rides along as an uncorrelated scalar
    subquery, which PostgreSQL evaluates once (an InitPlan), not once per row.

    Written as SQL because every forecast POST runs it: the ORM spelling of the same
    query took 1.36 ms to build and run, this one 0.30 ms (measured 2026-12-04; the
    write path's budget is 5 ms). The columns are the models' own.
    """
    ids = sorted({int(c) for c in city_ids if is_database_id(str(c))})
    if not ids:
        return {}, 0
    jobs = Job._meta
    sql = (
        f"SELECT c.*, (SELECT COUNT(*) FROM {jobs.db_table} j"
        f" WHERE j.{jobs.get_field('organization').column} = %s"
        " AND j.kind = %s AND j.state = %s) AS queued_forecasts"
        f" FROM {City._meta.db_table} c"
        f" WHERE c.{City._meta.get_field('organization').column} = %s"
        f" AND c.{City._meta.pk.column} IN ({', '.join(['%s'] * len(ids))})"
    )
    params = [organization_id, Job.Kind.FORECAST, Job.State.QUEUED, organization_id, *ids]
    cities = list(City.objects.raw(sql, params))
    backlog = int(cities[0].queued_forecasts) if cities else 0
    return {city.pk: city for city in cities}, backlog


def forecast_runs_for_user(user) -> QuerySet[ForecastRun]:
    return ForecastRun.objects.filter(city__organization_id=require_organization_id(user))


def forecast_run_get_for_user(user, run_id) -> ForecastRun:
    run = forecast_runs_for_user(user).select_related("city__organization").filter(pk=run_id)
    found = run.first()
    if found is None:
        raise NotFound("No such forecast run.")
    return found


def forecast_run_cache_key(run_id: int) -> str:
    # v2: the rendered bytes and their ETag (httpapi/rendered.py), not the data.
    return f"forecast-run:v2:{run_id}"


def forecast_run_rendered_for_user(
    user, run_id: int, render: Callable[[ForecastRun], dict]
) -> Rendered:
    """The run rendered by ``render`` to JSON bytes, from the cache when another request
    rendered it.

    A run never changes once written, so its bytes are cached for
    FORECAST_CACHE_SECONDS with its organisation: a hit costs one cache read and no
    query, and a caller of another organisation gets the same 404 as without the cache
    (the organisation is compared before anything of the entry is used).
    """
    org_id = require_organization_id_cached(user)
    cached = rendered_cached_for(forecast_run_cache_key(run_id), org_id, "No such forecast run.")
    if cached is not None:
        return cached
    run = (
        forecast_runs_for_user(user)
        .select_related("city")
        .prefetch_related("points")
        .filter(pk=run_id)
        .first()
    )
    if run is None:
        raise NotFound("No such forecast run.")
    rendered = rendered_json(run.city.organization_id, render(run))
    cache.set(forecast_run_cache_key(run.pk), rendered, timeout=settings.FORECAST_CACHE_SECONDS)
    return rendered


def forecast_points_latest(
    *,
    cities: QuerySet[City],
    start: datetime | None = None,
    end: datetime | None = None,
) -> QuerySet[Forecast]:
    """The latest issued point per city and timestamp of ``cities`` in [start, end)."""
    points = Forecast.objects.filter(city__in=cities)
    if start:
        points = points.filter(timestamp__gte=start)
    if end:
        points = points.filter(timestamp__lt=end)
    latest = points.annotate(
        rank=Window(
            RowNumber(),
            partition_by=[F("city_id"), F("timestamp")],
            order_by=[F("run__issued_at").desc(), F("run_id").desc()],
        )
    ).filter(rank=1)
    return latest.order_by("city_id", "timestamp")


def forecast_latest_issued_by_active_city() -> list[dict]:
    """For operators' metrics, every organisation: each active city and when its latest
    forecast run was issued (None: never)."""
    return list(
        City.objects.filter(is_active=True)
        .values("pk", "name", organization_slug=F("organization__slug"))
        .annotate(latest_issued_at=Max("forecast_runs__issued_at"))
        .order_by("organization__slug", "name")
    )
