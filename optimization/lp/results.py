"""Read a solved LP back into per-source series, shortfalls and run KPIs."""

from __future__ import annotations

import numpy as np

from optimization.lp.backends import RawResult
from optimization.lp.matrix import LpLayout, LpMatrices
from optimization.lp.problem import (
    SHORTFALL_TOLERANCE,
    DispatchProblem,
    DispatchSolution,
    Shortfall,
)
from optimization.lp.validate import source_cost


def solution_from_raw(
    problem: DispatchProblem, layout: LpLayout, m: LpMatrices, raw: RawResult, meta: dict
) -> DispatchSolution:
    n_t, dt, policy = problem.intervals, problem.dt_hours, problem.policy
    x = np.clip(raw.x, m.col_lower, m.col_upper)
    solution = DispatchSolution(
        status="optimal", objective=raw.objective, stage_objectives=raw.stage_objectives, **meta
    )
    zeros = np.zeros(n_t)
    for s in problem.sources:
        p = x[layout["p", s.name]]
        available = s.capacity_mw * np.asarray(s.availability, dtype=float)
        r_block = layout.get("r", s.name)
        reserve = x[r_block] if r_block is not None else zeros.copy()
        solution.power[s.name] = p
        solution.available[s.name] = available
        # Spilled wind and sun; unused hydro keeps its water, so it is not curtailment.
        spills = s.renewable and s.is_variable
        solution.curtailment[s.name] = np.maximum(available - p, 0.0) if spills else zeros
        solution.reserve[s.name] = reserve
        solution.cost[s.name] = dt * (p * source_cost(s, policy) + reserve * s.reserve_cost)
        solution.co2[s.name] = dt * p * s.co2_t_per_mwh
    for b in problem.storage:
        solution.charge[b.name] = x[layout["ch", b.name]]
        solution.discharge[b.name] = x[layout["dis", b.name]]
        solution.soc[b.name] = x[layout["soc", b.name]]
        rb = layout.get("rb", b.name)
        solution.reserve[b.name] = x[rb] if rb is not None else zeros.copy()
        solution.cost[b.name] = dt * solution.discharge[b.name] * b.cycle_cost
        solution.co2[b.name] = zeros.copy()
    solution.shed, solution.dump = x[layout["shed", ""]], x[layout["dump", ""]]
    short = layout.get("reserve_short")
    solution.reserve_shortfall = x[short] if short is not None else zeros.copy()
    if raw.balance_dual is not None:
        solution.price = raw.balance_dual / dt
    solution.kpis = _kpis(problem, solution)
    solution.shortfalls = _shortfalls(problem, solution, layout, x)
    if solution.shortfalls:
        solution.status = "optimal_with_shortfalls"
        solution.reason = "; ".join(_describe(item) for item in solution.shortfalls)
    return solution


def _kpis(problem: DispatchProblem, solution: DispatchSolution) -> dict:
    dt = problem.dt_hours
    demand_mwh = float(np.sum(problem.demand_mw) * dt)
    unserved_mwh = float(solution.shed.sum() * dt)
    served_mwh = demand_mwh - unserved_mwh
    non_renewable_mwh = sum(
        float(solution.power[s.name].sum() * dt) for s in problem.sources if not s.renewable
    )
    reserve_required = (
        float(np.sum(problem.reserve_mw) * dt) if problem.reserve_mw is not None else 0.0
    )
    return {
        "demand_mwh": demand_mwh,
        "cost": float(sum(series.sum() for series in solution.cost.values())),
        "co2_t": float(sum(series.sum() for series in solution.co2.values())),
        # Robust form (docs/dispatch.md, Constraints, 5): whatever served energy is not
        # non-renewable.
        "renewable_share": (
            min(max(1.0 - non_renewable_mwh / served_mwh, 0.0), 1.0) if served_mwh > 0 else None
        ),
        "curtailment_mwh": float(sum(c.sum() for c in solution.curtailment.values()) * dt),
        "unserved_mwh": unserved_mwh,
        "dumped_mwh": float(solution.dump.sum() * dt),
        "reserve_required_mwh": reserve_required,
        "reserve_shortfall_mwh": float(solution.reserve_shortfall.sum() * dt),
    }


def _shortfalls(problem, solution, layout, x) -> list[Shortfall]:
    peak = max(float(np.max(problem.demand_mw)), 1.0)
    tol_mwh = SHORTFALL_TOLERANCE * peak * problem.dt_hours
    kpis, policy, found = solution.kpis, problem.policy, []
    if kpis["unserved_mwh"] > tol_mwh:
        served = kpis["demand_mwh"] - kpis["unserved_mwh"]
        found.append(Shortfall("demand", kpis["demand_mwh"], served, kpis["unserved_mwh"], "MWh"))
    if kpis["reserve_shortfall_mwh"] > tol_mwh:
        required = kpis["reserve_required_mwh"]
        found.append(
            Shortfall(
                "reserve",
                required,
                required - kpis["reserve_shortfall_mwh"],
                kpis["reserve_shortfall_mwh"],
                "MWh",
            )  # fmt: skip
        )
    share = kpis["renewable_share"]
    missed_share = (
        policy.min_renewable_share is not None
        and share is not None
        and x[layout["renewable_short", ""]] > tol_mwh
    )
    if missed_share:
        target = policy.min_renewable_share
        found.append(
            Shortfall("min_renewable_share", target, share, max(target - share, 0.0), "share")
        )
    if policy.co2_cap is not None and x[layout["co2_short", ""]] > 1e-6 * max(policy.co2_cap, 1):
        found.append(
            Shortfall(
                "co2_cap",
                policy.co2_cap,
                kpis["co2_t"],
                max(kpis["co2_t"] - policy.co2_cap, 0.0),
                "t",
            )  # fmt: skip
        )
    for b in problem.storage:
        if b.terminal_soc is None or x[layout["terminal_short", b.name]] <= tol_mwh:
            continue
        target = b.terminal_soc * b.energy_mwh
        achieved = float(solution.soc[b.name][-1])
        found.append(
            Shortfall(f"terminal_soc:{b.name}", target, achieved, target - achieved, "MWh")
        )
    return found


def _describe(item: Shortfall) -> str:
    if item.constraint == "demand":
        return f"{item.shortfall:.6g} MWh of demand cannot be served by the fleet"
    return (
        f"{item.constraint} missed: target {item.target:.6g}, achieved {item.achieved:.6g} "
        f"{item.unit}, short by {item.shortfall:.6g}"
    )
