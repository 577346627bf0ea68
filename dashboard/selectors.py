"""The dashboard's reads: every city of an organisation with its active model, latest
forecast run (with points), latest dispatch, and the recent jobs, in a fixed number of
queries however many cities there are."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from django.db.models import OuterRef, Subquery

from cities.models import City
from forecasts.models import Forecast, ForecastRun
from jobs.models import Job
from optimization.models import DispatchRun
from training.models import ModelVersion

RECENT_JOBS = 15


@dataclass
class CityPanel:
    city: City
    model: ModelVersion | None
    run: ForecastRun | None
    points: list[dict]
    dispatch: DispatchRun | None


def dashboard_for_organization(organization_id: int | None) -> tuple[list[CityPanel], list[Job]]:
    """(one panel per city, the most recent jobs); empty for no organisation."""
    if organization_id is None:
        return [], []
    latest_run = ForecastRun.objects.filter(city=OuterRef("pk")).order_by("-issued_at", "-pk")
    latest_dispatch = DispatchRun.objects.filter(forecast_run__city=OuterRef("pk")).order_by(
        "-created_at", "-pk"
    )
    cities = list(
        City.objects.filter(organization_id=organization_id).annotate(
            latest_run_id=Subquery(latest_run.values("pk")[:1]),
            latest_dispatch_id=Subquery(latest_dispatch.values("pk")[:1]),
        )
    )
    models = {
        mv.city_id: mv
        for mv in ModelVersion.objects.filter(city__in=cities, status=ModelVersion.Status.ACTIVE)
    }
    runs = ForecastRun.objects.in_bulk([c.latest_run_id for c in cities if c.latest_run_id])
    dispatches = DispatchRun.objects.in_bulk(
        [c.latest_dispatch_id for c in cities if c.latest_dispatch_id]
    )
    points = defaultdict(list)
    for row in (
        Forecast.objects.filter(run_id__in=runs)
        .order_by("run_id", "timestamp")
        .values("run_id", "demand", "confidence_lower", "confidence_upper")
    ):
        points[row.pop("run_id")].append(row)
    panels = [
        CityPanel(
            city=city,
            model=models.get(city.pk),
            run=runs.get(city.latest_run_id),
            points=points.get(city.latest_run_id, []),
            dispatch=dispatches.get(city.latest_dispatch_id),
        )
        for city in cities
    ]
    jobs = list(Job.objects.filter(organization_id=organization_id)[:RECENT_JOBS])
    return panels, jobs
