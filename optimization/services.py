"""Writes: dispatch requests, the dispatch job itself, and its energy-mix results."""

from __future__ import annotations

import hashlib
import json
import time

import numpy as np
from django.db import transaction

from audit.services import audit_record
from errors import NotFound, Unprocessable
from forecasts.models import ForecastRun
from jobs.models import Job
from jobs.services import (
    job_create,
    job_enqueue,
    job_progress,
    job_result_write,
    job_succeed,
    request_key_for,
)
from optimization.dispatch_inputs import (
    DispatchInputs,
    dispatch_inputs_build,
    forecast_has_quantiles,
    policy_from_params,
    source_spec,
    storage_spec,
)
from optimization.lp import (
    DispatchSolution,
    dispatch_conflicts,
    penalty_order_validate,
    solve_dispatch,
)
from optimization.metrics import DISPATCH_SOLVE_SECONDS
from optimization.models import DispatchRun, EnergyMix, GenerationSource, StorageUnit
from optimization.selectors import UNSERVED, sources_for_city, storage_for_city

SUPPORTED_MODES = (DispatchRun.Mode.BASE, DispatchRun.Mode.RESERVE, DispatchRun.Mode.STOCHASTIC)

__all__ = [
    "dispatch_run_create",
    "dispatch_run_execute",
    "dispatch_job_execute",
    "policy_from_params",
    "source_spec",
    "storage_spec",
]


def dispatch_mode_resolve(forecast_run: ForecastRun, mode: str | None) -> str:
    """reserve is the default when the forecast has an upper quantile, else base."""
    if mode:
        return mode
    return DispatchRun.Mode.RESERVE if forecast_has_quantiles(forecast_run) else "base"


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
    mode: str | None = None,
    policy: dict | None = None,
    idempotency_key: str = "",
) -> tuple[DispatchRun, Job]:
    """Accept a dispatch request: validate, create (or reuse) the job, enqueue it.

    Input whose hard constraints cannot hold together is refused here with 422 and
    the names of the conflicting constraints, so no job is made for it.
    """
    policy = dict(policy or {})
    mode = dispatch_mode_resolve(forecast_run, mode)
    if mode not in SUPPORTED_MODES:
        raise Unprocessable(
            f"Mode {mode!r} is not available; use base, reserve or stochastic.",
            code="not_supported",
        )
    city = forecast_run.city
    sources = list(sources_for_city(city, active_only=True))
    units = list(storage_for_city(city, active_only=True))
    if not sources:
        raise Unprocessable(f"{city.name} has no active generation source.", code="no_sources")
    try:
        penalty_order_validate(
            [source_spec(s, np.ones(1)) for s in sources],
            [storage_spec(u) for u in units],
            policy_from_params(policy),
            reserve=mode == DispatchRun.Mode.RESERVE,
        )
    except ValueError as exc:
        raise Unprocessable(str(exc), code="invalid_policy", details={"policy": policy}) from None
    _feasibility_require(forecast_run, mode, policy)

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
            audit_record(
                "dispatch.create",
                dispatch_run,
                user=user,
                details={"job": str(job.pk), "mode": mode},
            )
            job_enqueue(job)
    return dispatch_run, job


def _feasibility_require(forecast_run: ForecastRun, mode: str, policy: dict) -> None:
    """422 with the conflicting constraints' names when the hard constraints clash."""
    try:
        inputs = dispatch_inputs_build(forecast_run, mode=mode, policy=policy)
        conflicts = dispatch_conflicts(inputs.problem)
    except ValueError as exc:
        raise Unprocessable(str(exc), code="invalid_input") from None
    if conflicts:
        raise Unprocessable(
            "The fleet's hard constraints cannot all hold for this forecast: "
            + ", ".join(conflicts[:12])
            + ("" if len(conflicts) <= 12 else f" and {len(conflicts) - 12} more"),
            code="infeasible",
            details={"constraints": conflicts},
        )


def dispatch_run_execute(dispatch_run: DispatchRun, job: Job | None = None) -> DispatchRun:
    """Solve a run and store its energy mix and totals (re-running replaces them)."""
    started = time.perf_counter()
    inputs = dispatch_inputs_build(
        dispatch_run.forecast_run, mode=dispatch_run.mode, policy=dispatch_run.policy
    )
    build_seconds = time.perf_counter() - started
    if job is not None:
        job_progress(job, 20)
    try:
        solution = solve_dispatch(inputs.problem)
    except ValueError as exc:
        _dispatch_run_fail(dispatch_run, f"invalid input: {exc}")
        raise Unprocessable(
            str(exc), code="invalid_input", details={"dispatch": dispatch_run.pk}
        ) from None
    DISPATCH_SOLVE_SECONDS.labels(status=solution.status).observe(solution.solve_seconds)
    if job is not None:
        job_progress(job, 70)
    if not solution.is_feasible:
        _dispatch_run_fail(dispatch_run, solution.reason, solution)
        raise Unprocessable(
            f"The dispatch is {solution.status.replace('_', ' ')}: {solution.reason}",
            code=solution.status,
            details={"dispatch": dispatch_run.pk, "constraints": solution.conflicts},
        )
    rows = _mix_rows(dispatch_run, inputs, solution)
    # The energy mix and the job's success commit together, and only while this worker
    # still holds the job (jobs/services.py, job_result_write): a job killed mid-solve
    # and run again never leaves two solves' rows.
    with job_result_write(job):
        EnergyMix.objects.filter(dispatch_run=dispatch_run).delete()
        EnergyMix.objects.bulk_create(rows, batch_size=2000)
        _totals_apply(dispatch_run, inputs, solution)
        dispatch_run.build_seconds = build_seconds
        dispatch_run.save()
        if job is not None:
            job_succeed(job, {"dispatch": dispatch_run.pk})
    return dispatch_run


def dispatch_job_execute(job: Job) -> dict:
    """The worker's part of a dispatch job: solve the run made with the job."""
    dispatch_run = (
        DispatchRun.objects.select_related("forecast_run__city")
        .filter(job=job)
        .order_by("pk")
        .first()
    )
    if dispatch_run is None:
        raise NotFound("The dispatch run of this job no longer exists.", code="dispatch_missing")
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
        for name in (
            "objective", "demand_mwh", "total_cost", "total_co2_t", "renewable_share",
            "curtailment_mwh", "unserved_mwh", "reserve_shortfall_mwh",
        ):  # fmt: skip
            setattr(dispatch_run, name, None)
        dispatch_run.interval_prices = []
        dispatch_run.interval_reserve = []
        dispatch_run.kpis, dispatch_run.shortfalls = {}, []
        dispatch_run.conflicts = solution.conflicts if solution is not None else []
        if solution is not None:
            dispatch_run.solver = solution.solver
            dispatch_run.solver_version = solution.solver_version
            dispatch_run.solve_seconds = solution.solve_seconds
        dispatch_run.save()


def _mix_rows(
    dispatch_run: DispatchRun, inputs: DispatchInputs, solution: DispatchSolution
) -> list[EnergyMix]:
    rows = []
    for t, (point_id, timestamp) in enumerate(
        zip(inputs.point_ids, inputs.timestamps.to_pydatetime(), strict=True)
    ):
        common = {"dispatch_run": dispatch_run, "forecast_id": point_id, "timestamp": timestamp}
        for source in inputs.sources:
            name = source.name
            rows.append(
                EnergyMix(
                    **common,
                    source_name=name,
                    source=source,
                    allocation=float(solution.power[name][t]),
                    available_mw=float(solution.available[name][t]),
                    curtailed_mw=float(solution.curtailment[name][t]),
                    reserve_mw=float(solution.reserve[name][t]),
                    cost=float(solution.cost[name][t]),
                    co2_t=float(solution.co2[name][t]),
                )
            )
        for unit in inputs.units:
            name = unit.name
            charge = float(solution.charge[name][t])
            discharge = float(solution.discharge[name][t])
            rows.append(
                EnergyMix(
                    **common,
                    source_name=name,
                    storage=unit,
                    allocation=discharge - charge,
                    charge_mw=charge,
                    discharge_mw=discharge,
                    soc_mwh=float(solution.soc[name][t]),
                    reserve_mw=float(solution.reserve[name][t]),
                    cost=float(solution.cost[name][t]),
                )
            )
        if solution.shed[t] > 0:
            rows.append(
                EnergyMix(**common, source_name=UNSERVED, allocation=float(solution.shed[t]))
            )
    return rows


def _totals_apply(
    dispatch_run: DispatchRun, inputs: DispatchInputs, solution: DispatchSolution
) -> None:
    kpis = solution.kpis
    dispatch_run.status = solution.status
    dispatch_run.status_reason = solution.reason
    dispatch_run.objective = solution.objective
    dispatch_run.solver = solution.solver
    dispatch_run.solver_version = solution.solver_version
    dispatch_run.solve_seconds = solution.solve_seconds
    dispatch_run.demand_mwh = kpis["demand_mwh"]
    dispatch_run.unserved_mwh = kpis["unserved_mwh"]
    dispatch_run.total_co2_t = kpis["co2_t"]
    dispatch_run.total_cost = kpis["cost"]
    dispatch_run.renewable_share = kpis["renewable_share"]
    dispatch_run.curtailment_mwh = kpis["curtailment_mwh"]
    dispatch_run.reserve_shortfall_mwh = kpis["reserve_shortfall_mwh"]
    dispatch_run.kpis = {**kpis, "stage_objectives": solution.stage_objectives}
    if solution.scenarios:
        dispatch_run.kpis["scenarios"] = [
            {k: item[k] for k in ("label", "probability", "cost", "unserved_mwh")}
            for item in solution.scenarios
        ]
    dispatch_run.shortfalls = [item.as_dict() for item in solution.shortfalls]
    dispatch_run.availability_basis = inputs.availability_basis
    dispatch_run.conflicts = []
    dispatch_run.interval_prices = (
        [float(price) for price in solution.price] if solution.price is not None else []
    )
    required = inputs.problem.reserve_mw
    dispatch_run.interval_reserve = (
        [
            [float(r), float(short)]
            for r, short in zip(required, solution.reserve_shortfall, strict=True)
        ]  # fmt: skip
        if required is not None
        else []
    )
