"""Shared builders: LP problems from the real Victoria data and the demo fleet specs."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd

from optimization.availability import source_availability
from optimization.fleet import DEMO_SOURCES, DEMO_STORAGE
from optimization.lp import DispatchProblem, Policy, SourceSpec, StorageSpec

MELBOURNE = {"timezone": "Australia/Melbourne", "latitude": -37.81, "longitude": 144.96}
SOURCE_DEFAULTS = {
    "availability": 1.0,
    "availability_profile": [],
    "must_run_fraction": 0.0,
    "ramp_limit": None,
    "renewable": False,
    "daily_energy_budget_mwh": None,
}


def local_day(frame: pd.DataFrame, day: str) -> pd.DataFrame:
    """The rows of one local (Melbourne) calendar day: 46, 48 or 50 half-hours."""
    local_dates = frame.index.tz_convert(MELBOURNE["timezone"]).strftime("%Y-%m-%d")
    return frame[local_dates == day]


def demo_source_specs(
    timestamps: pd.DatetimeIndex, dt_hours: float = 0.5, *, simple: bool = False
) -> list[SourceSpec]:
    """SourceSpecs of the demo fleet; ``simple`` drops must-run and ramps."""
    specs = []
    for raw in DEMO_SOURCES:
        source = SimpleNamespace(**{**SOURCE_DEFAULTS, **raw})
        availability = source_availability(source, timestamps, dt_hours=dt_hours, **MELBOURNE)
        specs.append(
            SourceSpec(
                name=source.name,
                kind=str(source.kind),
                capacity_mw=float(source.capacity_mw),
                availability=availability,
                marginal_cost=float(source.marginal_cost),
                co2_t_per_mwh=float(source.co2_t_per_mwh),
                renewable=bool(source.renewable),
                must_run_fraction=0.0 if simple else source.must_run_fraction,
                ramp_limit_per_hour=None if simple else source.ramp_limit,
                daily_budget_mwh=None if simple else source.daily_energy_budget_mwh,
            )
        )
    return specs


def demo_storage_specs() -> list[StorageSpec]:
    return [
        StorageSpec(**{k: v for k, v in unit.items() if k != "is_active"}) for unit in DEMO_STORAGE
    ]


def demo_problem(
    day_frame: pd.DataFrame, *, simple: bool = False, policy: Policy | None = None
) -> DispatchProblem:
    return DispatchProblem(
        demand_mw=day_frame["demand_mw"].to_numpy(dtype=float),
        dt_hours=0.5,
        sources=demo_source_specs(day_frame.index, simple=simple),
        storage=[] if simple else demo_storage_specs(),
        policy=policy or Policy(),
    )


def merit_order_objective(problem: DispatchProblem) -> float:
    """Greedy stack: cheapest available MW first in each interval, then VoLL."""
    policy, dt = problem.policy, problem.dt_hours
    order = sorted(
        problem.sources, key=lambda s: s.marginal_cost + policy.co2_price * s.co2_t_per_mwh
    )
    total = 0.0
    for t, demand in enumerate(np.asarray(problem.demand_mw, dtype=float)):
        remaining = demand
        for s in order:
            take = min(remaining, s.capacity_mw * s.availability[t])
            total += dt * take * (s.marginal_cost + policy.co2_price * s.co2_t_per_mwh)
            remaining -= take
        total += dt * remaining * policy.voll
    return total


def admin_form_with(admin_user, instance, **changes):
    """(form class, POST data) of the admin change form for a stored fleet item:
    its current values, with ``changes`` applied on top."""
    from django.contrib import admin
    from django.test import RequestFactory

    model = type(instance)
    request = RequestFactory().get("/")
    request.user = admin_user
    form_class = admin.site._registry[model].get_form(request, instance)
    data = {
        key: ("" if value is None else value)
        for key, value in model.objects.filter(pk=instance.pk).values()[0].items()
    }
    data.update(city=instance.city_id, availability_profile="[]", **changes)
    return form_class, data
