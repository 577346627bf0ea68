"""Reads of the fleet and of dispatch results, always scoped by organisation."""

from __future__ import annotations

from collections import defaultdict

from django.db.models import QuerySet

from accounts.selectors import require_organization_id
from cities.models import City
from errors import NotFound
from forecasts.models import Forecast
from optimization.models import DispatchRun, EnergyMix, GenerationSource, StorageUnit

UNSERVED = "unserved"  # source_name of the rows that carry shed load


def sources_for_city(city: City, *, active_only: bool = False) -> QuerySet[GenerationSource]:
    qs = GenerationSource.objects.filter(city=city)
    return qs.filter(is_active=True) if active_only else qs


def storage_for_city(city: City, *, active_only: bool = False) -> QuerySet[StorageUnit]:
    qs = StorageUnit.objects.filter(city=city)
    return qs.filter(is_active=True) if active_only else qs


def source_get_for_city(city: City, source_id) -> GenerationSource:
    try:
        return sources_for_city(city).get(pk=int(source_id))
    except (GenerationSource.DoesNotExist, ValueError, TypeError):
        raise NotFound("No such source in this city.") from None


def storage_get_for_city(city: City, storage_id) -> StorageUnit:
    try:
        return storage_for_city(city).get(pk=int(storage_id))
    except (StorageUnit.DoesNotExist, ValueError, TypeError):
        raise NotFound("No such storage unit in this city.") from None


def dispatch_runs_for_user(user) -> QuerySet[DispatchRun]:
    return DispatchRun.objects.filter(
        forecast_run__city__organization_id=require_organization_id(user)
    )


def dispatch_run_get_for_user(user, dispatch_run_id) -> DispatchRun:
    try:
        return (
            dispatch_runs_for_user(user).select_related("forecast_run").get(pk=int(dispatch_run_id))
        )
    except (DispatchRun.DoesNotExist, ValueError, TypeError):
        raise NotFound("No such dispatch run.") from None


def dispatch_run_intervals(dispatch_run: DispatchRun) -> list[dict]:
    """Per interval: demand, price, reserve, MW per source (with its details), storage."""
    demand = dict(
        Forecast.objects.filter(run_id=dispatch_run.forecast_run_id).values_list(
            "timestamp", "demand"
        )
    )
    intervals: dict = defaultdict(
        lambda: {"allocation": {}, "sources": {}, "storage": {}, "unserved": 0.0}
    )
    rows = EnergyMix.objects.filter(dispatch_run=dispatch_run).order_by("timestamp", "pk")
    for row in rows.values(
        "timestamp", "source_name", "source_id", "storage_id", "allocation", "available_mw",
        "curtailed_mw", "reserve_mw", "charge_mw", "discharge_mw", "soc_mwh", "cost", "co2_t",
    ):  # fmt: skip
        interval = intervals[row["timestamp"]]
        name = row["source_name"]
        if row["storage_id"] is not None or row["soc_mwh"] is not None:
            interval["storage"][name] = {
                "charge": row["charge_mw"],
                "discharge": row["discharge_mw"],
                "soc": row["soc_mwh"],
                "reserve": row["reserve_mw"],
                "cost": row["cost"],
            }
        elif name == UNSERVED and row["source_id"] is None:
            interval["unserved"] = row["allocation"]
        else:
            interval["allocation"][name] = row["allocation"]
            interval["sources"][name] = {
                "power": row["allocation"],
                "available": row["available_mw"],
                "curtailed": row["curtailed_mw"],
                "reserve": row["reserve_mw"],
                "cost": row["cost"],
                "co2_t": row["co2_t"],
            }
    ordered = sorted(demand)
    prices = dict(zip(ordered, dispatch_run.interval_prices or [], strict=False))
    reserve = dict(zip(ordered, dispatch_run.interval_reserve or [], strict=False))
    return [
        {
            "timestamp": ts,
            "demand": demand.get(ts),
            "price": prices.get(ts),
            "reserve_required": reserve[ts][0] if ts in reserve else None,
            "reserve_shortfall": reserve[ts][1] if ts in reserve else None,
            **intervals[ts],
        }
        for ts in sorted(intervals)
    ]
