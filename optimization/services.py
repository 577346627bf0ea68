"""Writes: dispatch requests, the dispatch job itself, and its energy-mix results."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
from django.db import transaction

from energy_site.api import ApiError
from forecasts.models import ForecastRun, Job
from forecasts.services.jobs import JobError, job_create, job_enqueue, job_progress, request_key_for
from optimization.availability import source_availability
from optimization.lp import (
    DispatchProblem,
    DispatchSolution,
    Policy,
    SourceSpec,
    StorageSpec,
    penalty_order_validate,
    solve_dispatch,
)
from optimization.models import DispatchRun, EnergyMix, GenerationSource, StorageUnit
from optimization.selectors import UNSERVED, sources_for_city, storage_for_city

SUPPORTED_MODES = (DispatchRun.Mode.BASE,)
POLICY_FIELDS = ("voll", "co2_price", "dump_penalty")
# Accepted by the API contract but only honoured by a later formulation.
POLICY_FIELDS_NOT_YET = ("co2_cap", "min_renewable_share")


def policy_from_params(params: dict | None) -> Policy:
    params = params or {}
    return Policy(**{key: float(params[key]) for key in POLICY_FIELDS if key in params})


def source_spec(source: GenerationSource, availability: np.ndarray) -> SourceSpec:
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
    )


def _fleet_fingerprint(sources: list[GenerationSource], units: list[StorageUnit]) -> str:
    """Changes whenever the fleet does, so a repeat after an edit is a new dispatch."""
    rows = [
        [type(obj).__name__, obj.pk, {k: v for k, v in vars(obj).items() if not k.startswith("_")}]
        for obj in [*sources, *units]
    ]
    return hashlib.sha256(json.dumps(rows, sort_keys=True, default=str).encode()).hexdigest()


def dispatch_run_create(
    *,
    forecast_run: ForecastRun,
    user,
    mode: str = "base",
    policy: dict | None = None,
    idempotency_key: str = "",
) -> tuple[DispatchRun, Job]:
    """Accept a dispatch request: validate, create (or reuse) the job, enqueue it."""
    from optimization.tasks import optimize_dispatch  # the task imports this module

    policy = dict(policy or {})
    if mode not in SUPPORTED_MODES:
        raise ApiError(
            422, "not_supported", f"Mode {mode!r} is not available yet; use mode 'base'."
        )
    not_yet = sorted(set(policy) & set(POLICY_FIELDS_NOT_YET))
    if not_yet:
        raise ApiError(
            422, "not_supported", f"Policy {', '.join(not_yet)} is not supported in base mode."
        )
    city = forecast_run.city
    sources = list(sources_for_city(city, active_only=True))
    units = list(storage_for_city(city, active_only=True))
    if not sources:
        raise ApiError(422, "no_sources", f"{city.name} has no active generation source.")
    try:
        penalty_order_validate(
            [source_spec(s, np.ones(1)) for s in sources],
            [storage_spec(u) for u in units],
            policy_from_params(policy),
        )
    except ValueError as exc:
        raise ApiError(422, "invalid_policy", str(exc), {"policy": policy}) from None

    params = {"forecast_run": forecast_run.pk, "mode": mode, "policy": policy}
    key = request_key_for(
        city.organization_id,
        Job.Kind.OPTIMIZE,
        {**params, "fleet": _fleet_fingerprint(sources, units)},
    )
    with transaction.atomic():
        job, created = job_create(
            organization=city.organization, user=user, kind=Job.Kind.OPTIMIZE, params=params,
            request_key=key, idempotency_key=idempotency_key,
        )  # fmt: skip
        dispatch_run = DispatchRun.objects.filter(job=job).first()
        if dispatch_run is None:
            dispatch_run = DispatchRun.objects.create(
                forecast_run=forecast_run, job=job, mode=mode, policy=policy
            )
        if created:
            job_enqueue(job, optimize_dispatch, dispatch_run.pk)
    return dispatch_run, job


def dispatch_problem_build(
    dispatch_run: DispatchRun,
) -> tuple[DispatchProblem, list, list[GenerationSource], list[StorageUnit]]:
    """The LP input of a run: q50 demand of its points and the city's active fleet."""
    forecast_run = dispatch_run.forecast_run
    city = forecast_run.city
    points = list(forecast_run.points.order_by("timestamp"))
    if not points:
        raise JobError("no_forecast_points", "The forecast run has no points to dispatch.")
    dt_hours = city.resolution_minutes / 60
    timestamps = pd.DatetimeIndex([p.timestamp for p in points]).tz_convert("UTC")
    steps = (timestamps[1:] - timestamps[:-1]).total_seconds().to_numpy() / 3600
    if len(steps) and not np.allclose(steps, dt_hours):
        raise JobError(
            "irregular_forecast",
            f"Forecast points must be {city.resolution_minutes} minutes apart, "
            f"found steps of {sorted({round(float(step) * 60, 3) for step in steps})} minutes.",
        )
    sources = list(sources_for_city(city, active_only=True))
    units = list(storage_for_city(city, active_only=True))
    if not sources:
        raise JobError("no_sources", f"{city.name} has no active generation source.")
    where = {"timezone": city.timezone, "latitude": city.latitude, "longitude": city.longitude}
    specs = [
        source_spec(s, source_availability(s, timestamps, dt_hours=dt_hours, **where))
        for s in sources
    ]
    problem = DispatchProblem(
        demand_mw=np.array([p.demand for p in points], dtype=float),
        dt_hours=dt_hours,
        sources=specs,
        storage=[storage_spec(u) for u in units],
        policy=policy_from_params(dispatch_run.policy),
    )
    return problem, points, sources, units


def dispatch_run_execute(dispatch_run: DispatchRun, job: Job | None = None) -> DispatchRun:
    """Solve a run and store its energy mix and totals (re-running replaces them)."""
    problem, points, sources, units = dispatch_problem_build(dispatch_run)
    if job is not None:
        job_progress(job, 20)
    try:
        solution = solve_dispatch(problem)
    except ValueError as exc:
        _dispatch_run_fail(dispatch_run, f"invalid input: {exc}")
        raise JobError("invalid_input", str(exc), {"dispatch": dispatch_run.pk}) from None
    if job is not None:
        job_progress(job, 70)
    if not solution.is_feasible:
        _dispatch_run_fail(dispatch_run, solution.reason, solution)
        raise JobError(
            solution.status,
            f"The dispatch is {solution.status.replace('_', ' ')}: {solution.reason}",
            {"dispatch": dispatch_run.pk},
        )
    rows = _mix_rows(dispatch_run, problem, solution, points, sources, units)
    with transaction.atomic():
        EnergyMix.objects.filter(dispatch_run=dispatch_run).delete()
        EnergyMix.objects.bulk_create(rows, batch_size=2000)
        _totals_apply(dispatch_run, problem, solution)
        dispatch_run.save()
    return dispatch_run


def dispatch_job_execute(job: Job, dispatch_run_id: int) -> dict:
    dispatch_run = DispatchRun.objects.select_related("forecast_run__city").get(pk=dispatch_run_id)
    dispatch_run_execute(dispatch_run, job)
    return {"dispatch": dispatch_run.pk}


def _dispatch_run_fail(
    dispatch_run: DispatchRun, reason: str, solution: DispatchSolution | None = None
) -> None:
    with transaction.atomic():
        EnergyMix.objects.filter(dispatch_run=dispatch_run).delete()
        dispatch_run.status = (
            DispatchRun.Status.TIME_LIMIT
            if solution is not None and solution.status == "time_limit"
            else DispatchRun.Status.INFEASIBLE
        )
        dispatch_run.status_reason = reason
        for name in ("objective", "demand_mwh", "total_cost", "total_co2_t", "renewable_share"):
            setattr(dispatch_run, name, None)
        dispatch_run.curtailment_mwh = dispatch_run.unserved_mwh = None
        dispatch_run.interval_prices = []
        if solution is not None:
            dispatch_run.solver = solution.solver
            dispatch_run.solver_version = solution.solver_version
            dispatch_run.solve_seconds = solution.solve_seconds
        dispatch_run.save()


def _mix_rows(dispatch_run, problem, solution, points, sources, units) -> list[EnergyMix]:
    dt, co2_price = problem.dt_hours, problem.policy.co2_price
    rows = []
    for t, point in enumerate(points):
        common = {"dispatch_run": dispatch_run, "forecast": point, "timestamp": point.timestamp}
        for source in sources:
            power = float(solution.power[source.name][t])
            rows.append(
                EnergyMix(
                    **common,
                    source_name=source.name,
                    source=source,
                    allocation=power,
                    available_mw=float(solution.available[source.name][t]),
                    curtailed_mw=float(solution.curtailment[source.name][t]),
                    cost=dt * power * (source.marginal_cost + co2_price * source.co2_t_per_mwh),
                    co2_t=dt * power * source.co2_t_per_mwh,
                )
            )
        for unit in units:
            charge = float(solution.charge[unit.name][t])
            discharge = float(solution.discharge[unit.name][t])
            rows.append(
                EnergyMix(
                    **common,
                    source_name=unit.name,
                    storage=unit,
                    allocation=discharge - charge,
                    charge_mw=charge,
                    discharge_mw=discharge,
                    soc_mwh=float(solution.soc[unit.name][t]),
                    cost=dt * discharge * unit.cycle_cost,
                )
            )
        if solution.shed[t] > 0:
            rows.append(
                EnergyMix(**common, source_name=UNSERVED, allocation=float(solution.shed[t]))
            )
    return rows


def _totals_apply(dispatch_run, problem: DispatchProblem, solution: DispatchSolution) -> None:
    dt, co2_price = problem.dt_hours, problem.policy.co2_price
    energy = {s.name: float(solution.power[s.name].sum() * dt) for s in problem.sources}
    demand_mwh = float(problem.demand_mw.sum() * dt)
    unserved_mwh = float(solution.shed.sum() * dt)
    served_mwh = demand_mwh - unserved_mwh
    non_renewable_mwh = sum(energy[s.name] for s in problem.sources if not s.renewable)
    cycle_cost = sum(
        float(solution.discharge[b.name].sum() * dt * b.cycle_cost) for b in problem.storage
    )
    dispatch_run.status = solution.status
    dispatch_run.status_reason = solution.reason
    dispatch_run.objective = solution.objective
    dispatch_run.solver = solution.solver
    dispatch_run.solver_version = solution.solver_version
    dispatch_run.solve_seconds = solution.solve_seconds
    dispatch_run.demand_mwh = demand_mwh
    dispatch_run.unserved_mwh = unserved_mwh
    dispatch_run.total_co2_t = sum(energy[s.name] * s.co2_t_per_mwh for s in problem.sources)
    dispatch_run.total_cost = cycle_cost + sum(
        energy[s.name] * (s.marginal_cost + co2_price * s.co2_t_per_mwh) for s in problem.sources
    )
    # Robust form (optimization.md): whatever served energy is not non-renewable.
    dispatch_run.renewable_share = (
        min(max(1.0 - non_renewable_mwh / served_mwh, 0.0), 1.0) if served_mwh > 0 else None
    )
    dispatch_run.interval_prices = (
        [float(price) for price in solution.price] if solution.price is not None else []
    )
    dispatch_run.curtailment_mwh = sum(
        float(solution.curtailment[s.name].sum() * dt) for s in problem.sources
    )
