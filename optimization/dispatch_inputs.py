"""Reads that turn a forecast run, its city's fleet and weather into an LP problem."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from cities.models import Observation
from errors import Unprocessable
from forecasts.models import ForecastRun
from optimization.availability import source_availability_with_basis
from optimization.lp import DispatchProblem, Policy, SourceSpec, StorageSpec
from optimization.models import AvailabilityModel, GenerationSource, StorageUnit
from optimization.selectors import sources_for_city, storage_for_city

POLICY_FLOAT_FIELDS = (
    "voll", "co2_price", "dump_penalty", "co2_cap", "min_renewable_share",
    "reserve_shortfall_penalty", "renewable_shortfall_penalty", "co2_shortfall_penalty",
    "terminal_soc_penalty",
)  # fmt: skip
RESERVE_QUANTILE = "0.95"
# Stochastic mode: q05, q50 and q95 stand for the lower, middle and upper thirds of the
# demand distribution with the extended Pearson-Tukey weights.
SCENARIOS = (("q05", "0.05", 0.185), ("q50", "0.5", 0.63), ("q95", "0.95", 0.185))
WEATHER_COLUMNS = ("temperature_c", "wind_speed_ms", "irradiance_wm2")


def policy_from_params(params: dict | None) -> Policy:
    params = params or {}
    values = {key: float(params[key]) for key in POLICY_FLOAT_FIELDS if key in params}
    if "allow_dump" in params:
        values["allow_dump"] = bool(params["allow_dump"])
    return Policy(**values)


def source_spec(source: GenerationSource, availability: np.ndarray) -> SourceSpec:
    weather_driven = source.availability_model in (AvailabilityModel.PV, AvailabilityModel.WIND)
    return SourceSpec(
        name=source.name,
        kind=source.kind,
        capacity_mw=source.capacity_mw,
        availability=availability,
        marginal_cost=source.marginal_cost,
        co2_t_per_mwh=source.co2_t_per_mwh,
        renewable=source.renewable,
        must_run_fraction=source.must_run_fraction,
        ramp_limit_per_hour=source.ramp_limit,
        daily_budget_mwh=source.daily_energy_budget_mwh,
        reserve_fraction=source.reserve_fraction,
        reserve_cost=source.reserve_cost,
        variable=True if weather_driven else None,
    )


def storage_spec(unit: StorageUnit) -> StorageSpec:
    return StorageSpec(
        name=unit.name,
        energy_mwh=unit.energy_mwh,
        power_mw=unit.power_mw,
        charge_efficiency=unit.charge_efficiency,
        discharge_efficiency=unit.discharge_efficiency,
        initial_soc=unit.initial_soc,
        min_soc=unit.min_soc,
        max_soc=unit.max_soc,
        cycle_cost=unit.cycle_cost,
        # An empty target means "end where it started", so a plan cannot borrow the
        # battery's energy for free and leave the next day empty.
        terminal_soc=unit.terminal_soc if unit.terminal_soc is not None else unit.initial_soc,
    )


def forecast_has_quantiles(forecast_run: ForecastRun) -> bool:
    return any(float(q) > 0.5 for q in forecast_run.quantiles or [])


@dataclass
class DispatchInputs:
    problem: DispatchProblem
    point_ids: list[int]
    timestamps: pd.DatetimeIndex
    sources: list[GenerationSource]
    units: list[StorageUnit]
    availability_basis: dict[str, str] = field(default_factory=dict)


def dispatch_inputs_build(
    forecast_run: ForecastRun, *, mode: str, policy: dict | None
) -> DispatchInputs:
    """The LP input of a run: q50 demand (and q95 - q50 reserve), fleet, availability."""
    city = forecast_run.city
    rows = list(
        forecast_run.points.order_by("timestamp").values_list(
            "pk", "timestamp", "demand", "confidence_upper", "quantiles", "confidence_lower"
        )
    )
    if not rows:
        raise Unprocessable(
            "The forecast run has no points to dispatch.", code="no_forecast_points"
        )
    dt_hours = city.resolution_minutes / 60
    timestamps = pd.DatetimeIndex([row[1] for row in rows]).tz_convert("UTC")
    steps = (timestamps[1:] - timestamps[:-1]).total_seconds().to_numpy() / 3600
    if len(steps) and not np.allclose(steps, dt_hours):
        raise Unprocessable(
            f"Forecast points must be {city.resolution_minutes} minutes apart, "
            f"found steps of {sorted({round(float(step) * 60, 3) for step in steps})} minutes.",
            code="irregular_forecast",
        )
    sources = list(sources_for_city(city, active_only=True))
    units = list(storage_for_city(city, active_only=True))
    if not sources:
        raise Unprocessable(f"{city.name} has no active generation source.", code="no_sources")
    demand = np.array([row[2] for row in rows], dtype=float)
    reserve = None
    if mode == "reserve":
        upper = np.array(
            [(row[4] or {}).get(RESERVE_QUANTILE, row[3]) for row in rows], dtype=float
        )
        reserve = np.maximum(upper - demand, 0.0)
    scenarios = None
    if mode == "stochastic":
        stored = {"0.05": 5, "0.5": 2, "0.95": 3}  # columns that stand in for a quantile
        scenarios = [
            (
                label,
                probability,
                np.array([(row[4] or {}).get(key, row[stored[key]]) for row in rows], dtype=float),
            )
            for label, key, probability in SCENARIOS
        ]
    weather = _weather(city, timestamps, sources)
    where = {"timezone": city.timezone, "latitude": city.latitude, "longitude": city.longitude}
    specs, basis = [], {}
    for s in sources:
        values, basis[s.name] = source_availability_with_basis(
            s, timestamps, dt_hours=dt_hours, weather=weather, **where
        )
        specs.append(source_spec(s, values))
    days, share = _budget_days(timestamps, city.timezone, dt_hours)
    problem = DispatchProblem(
        demand_mw=demand,
        dt_hours=dt_hours,
        sources=specs,
        storage=[storage_spec(u) for u in units],
        policy=policy_from_params(policy),
        reserve_mw=reserve,
        scenarios=scenarios,
        day_of_interval=days,
        day_share=share,
    )
    return DispatchInputs(problem, [row[0] for row in rows], timestamps, sources, units, basis)


def _weather(city, timestamps: pd.DatetimeIndex, sources) -> pd.DataFrame | None:
    """The city's weather rows over the horizon (only when a source needs them)."""
    needs = {AvailabilityModel.PV, AvailabilityModel.WIND}
    if not any(s.availability_model in needs for s in sources):
        return None
    rows = Observation.objects.filter(
        city=city, timestamp__gte=timestamps[0], timestamp__lte=timestamps[-1]
    ).values_list("timestamp", *WEATHER_COLUMNS)
    frame = pd.DataFrame(list(rows), columns=["timestamp", *WEATHER_COLUMNS], dtype=object)
    if frame.empty:
        return None
    frame.index = pd.DatetimeIndex(frame.pop("timestamp")).tz_convert("UTC")
    return frame.astype(float).reindex(timestamps)


def _budget_days(
    timestamps: pd.DatetimeIndex, timezone: str, dt_hours: float
) -> tuple[np.ndarray, np.ndarray]:
    """Local calendar day of each interval, and each day's share of a daily budget.

    A day the horizon covers only in part gets the covered part; a 23-hour or 25-hour
    DST day covered whole gets the whole budget.
    """
    local = timestamps.tz_convert(timezone)
    codes, dates = pd.factorize(local.normalize())
    counts = np.bincount(codes, minlength=len(dates))
    # The next local midnight is 23 or 25 hours away on a DST day.
    lengths = np.array(
        [
            ((pd.Timestamp(d.date()) + pd.Timedelta(days=1)).tz_localize(timezone) - d)
            / pd.Timedelta(hours=1)
            for d in dates
        ]
    )
    return codes, np.minimum(counts * dt_hours / lengths, 1.0)
