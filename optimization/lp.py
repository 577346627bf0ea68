"""The dispatch linear programme (optimization.md, base mode), free of Django.

Variables, all >= 0, laid out in blocks: p[g, t] per source, ch[b, t], dis[b, t] and
soc[b, t] per storage unit, then shed[t] and dump[t]. Rows: the balance at the
demand (its dual is the interval price), the storage recursion and the ramp limits.
Capacity x availability and the must-run floor are column bounds.

The matrix is built once with scipy.sparse and handed either to HiGHS through
highspy (default) or to scipy.optimize.linprog(method="highs"); both must give the
same objective, which the tests check.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from optimization.lp_backends import BACKENDS
from optimization.lp_matrix import LpLayout, lp_matrices_build, source_cost

DEFAULT_VOLL = 10_000.0
DEFAULT_DUMP_PENALTY = 1_000.0
SHORTFALL_TOLERANCE = 1e-6  # of peak demand, in MW


@dataclass
class SourceSpec:
    name: str
    kind: str
    capacity_mw: float
    availability: np.ndarray  # per interval, per unit of capacity, 0..1
    marginal_cost: float
    co2_t_per_mwh: float
    renewable: bool
    must_run_fraction: float = 0.0
    ramp_limit_per_hour: float | None = None  # fraction of capacity per hour


@dataclass
class StorageSpec:
    name: str
    energy_mwh: float
    power_mw: float
    charge_efficiency: float
    discharge_efficiency: float
    initial_soc: float  # fractions of energy_mwh
    min_soc: float
    max_soc: float
    cycle_cost: float = 0.0  # per MWh discharged

    @property
    def round_trip_efficiency(self) -> float:
        return self.charge_efficiency * self.discharge_efficiency


@dataclass
class Policy:
    voll: float = DEFAULT_VOLL
    co2_price: float = 0.0
    dump_penalty: float = DEFAULT_DUMP_PENALTY


@dataclass
class DispatchProblem:
    demand_mw: np.ndarray
    dt_hours: float
    sources: list[SourceSpec]
    storage: list[StorageSpec] = field(default_factory=list)
    policy: Policy = field(default_factory=Policy)

    @property
    def intervals(self) -> int:
        return len(self.demand_mw)


@dataclass
class DispatchSolution:
    status: str  # optimal, optimal_with_shortfalls, infeasible
    reason: str = ""
    objective: float | None = None
    power: dict[str, np.ndarray] = field(default_factory=dict)
    available: dict[str, np.ndarray] = field(default_factory=dict)
    curtailment: dict[str, np.ndarray] = field(default_factory=dict)
    charge: dict[str, np.ndarray] = field(default_factory=dict)
    discharge: dict[str, np.ndarray] = field(default_factory=dict)
    soc: dict[str, np.ndarray] = field(default_factory=dict)  # MWh at the end of each t
    shed: np.ndarray | None = None
    dump: np.ndarray | None = None
    price: np.ndarray | None = None  # balance dual, per MWh
    solver: str = ""
    solver_version: str = ""
    solve_seconds: float = 0.0

    @property
    def is_feasible(self) -> bool:
        return self.status != "infeasible"


def problem_validate(problem: DispatchProblem) -> None:
    """Raise ValueError with a clear message for anything the LP cannot take."""
    demand = np.asarray(problem.demand_mw, dtype=float)
    if demand.ndim != 1 or len(demand) == 0:
        raise ValueError("demand_mw must be a non-empty 1-D array.")
    if not np.all(np.isfinite(demand)) or np.any(demand < 0):
        raise ValueError("demand_mw must be finite and non-negative in every interval.")
    if not (np.isfinite(problem.dt_hours) and problem.dt_hours > 0):
        raise ValueError("dt_hours must be positive.")
    names = [s.name for s in problem.sources] + [b.name for b in problem.storage]
    if len(set(names)) != len(names):
        raise ValueError("Source and storage names must be unique.")
    for s in problem.sources:
        availability = np.asarray(s.availability, dtype=float)
        if availability.shape != demand.shape:
            raise ValueError(
                f"{s.name}: availability has {availability.size} values for "
                f"{demand.size} intervals."
            )
        if (
            not np.all(np.isfinite(availability))
            or availability.min() < 0
            or availability.max() > 1
        ):
            raise ValueError(f"{s.name}: availability must lie in [0, 1].")
        if not s.capacity_mw >= 0:
            raise ValueError(f"{s.name}: capacity_mw must be >= 0.")
        if not 0 <= s.must_run_fraction <= 1:
            raise ValueError(f"{s.name}: must_run_fraction must lie in [0, 1].")
        if s.ramp_limit_per_hour is not None and not s.ramp_limit_per_hour >= 0:
            raise ValueError(f"{s.name}: ramp_limit_per_hour must be >= 0.")
        if not (np.isfinite(s.marginal_cost) and s.co2_t_per_mwh >= 0):
            raise ValueError(f"{s.name}: marginal_cost must be finite and co2_t_per_mwh >= 0.")
    for b in problem.storage:
        if not (b.energy_mwh >= 0 and b.power_mw >= 0 and b.cycle_cost >= 0):
            raise ValueError(f"{b.name}: energy, power and cycle cost must be >= 0.")
        if not (0 < b.charge_efficiency <= 1 and 0 < b.discharge_efficiency <= 1):
            raise ValueError(f"{b.name}: efficiencies must lie in (0, 1].")
        if not 0 <= b.min_soc <= b.initial_soc <= b.max_soc <= 1:
            raise ValueError(f"{b.name}: need 0 <= min_soc <= initial_soc <= max_soc <= 1.")
    penalty_order_validate(problem.sources, problem.storage, problem.policy)


def penalty_order_validate(
    sources: list[SourceSpec], storage: list[StorageSpec], policy: Policy
) -> None:
    """VoLL > dump penalty > every marginal cost / round-trip efficiency.

    Otherwise the LP would rather shed load than dump surplus, or rather dump
    than run a real source, which is a plan nobody asked for.
    """
    if not policy.voll > policy.dump_penalty:
        raise ValueError(
            f"Penalty order: VoLL ({policy.voll:g}) must exceed the dump penalty "
            f"({policy.dump_penalty:g})."
        )
    least_efficient = min(storage, key=lambda b: b.round_trip_efficiency, default=None)
    costliest_cycle = max(storage, key=lambda b: b.cycle_cost, default=None)
    worst_efficiency = least_efficient.round_trip_efficiency if least_efficient else 1.0
    worst_cycle_cost = costliest_cycle.cycle_cost if costliest_cycle else 0.0
    via = ""
    if least_efficient is not None:
        via = (
            f" (through {least_efficient.name}, round trip {worst_efficiency:.4g}, and "
            f"{costliest_cycle.name}'s cycle cost {worst_cycle_cost:g})"
        )
    for s in sources:
        effective = abs(source_cost(s, policy)) / worst_efficiency + worst_cycle_cost
        if not policy.dump_penalty > effective:
            raise ValueError(
                f"Penalty order: the dump penalty ({policy.dump_penalty:g}) must exceed "
                f"{s.name}'s cost per MWh divided by the round-trip efficiency plus the "
                f"cycle cost{via}: {effective:.4g}."
            )


def ramp_conflict(problem: DispatchProblem) -> str:
    """Name a source whose ramp limit cannot follow its own bounds ("" if none).

    Balance always has its shed and dump slacks and storage can idle, so a ramp
    between moving must-run and availability bounds is the only way to make the
    base LP infeasible; this says which one and where.
    """
    dt = problem.dt_hours
    for s in problem.sources:
        if s.ramp_limit_per_hour is None:
            continue
        step = s.ramp_limit_per_hour * s.capacity_mw * dt
        upper = s.capacity_mw * np.asarray(s.availability, dtype=float)
        lower = s.must_run_fraction * upper
        reach_lo, reach_hi = lower[0], upper[0]
        for t in range(1, problem.intervals):
            reach_lo, reach_hi = max(lower[t], reach_lo - step), min(upper[t], reach_hi + step)
            if reach_lo > reach_hi + 1e-9 * max(s.capacity_mw, 1.0):
                return (
                    f"ramp limit of {s.name} ({step:.6g} MW per interval) cannot follow its "
                    f"must-run and availability bounds at interval {t} "
                    f"(needs {lower[t]:.6g}..{upper[t]:.6g} MW)"
                )
    return ""


def solve_dispatch(problem: DispatchProblem, backend: str = "highspy") -> DispatchSolution:
    """Solve the base-mode dispatch; ValueError for input the LP must not take."""
    if backend not in BACKENDS:
        raise ValueError(f"Unknown backend {backend!r}; use one of {sorted(BACKENDS)}.")
    problem_validate(problem)
    n_t = problem.intervals
    layout = LpLayout(len(problem.sources), len(problem.storage), n_t)
    matrices = lp_matrices_build(problem, layout)
    raw = BACKENDS[backend](matrices, n_t)
    meta = {"solver": raw.solver, "solver_version": raw.version, "solve_seconds": raw.seconds}
    if raw.status != "optimal":
        reason = ramp_conflict(problem) if raw.status == "infeasible" else ""
        reason = reason or f"{raw.solver} reported: {raw.message}"
        status = raw.status if raw.status in ("infeasible", "time_limit") else "infeasible"
        return DispatchSolution(status=status, reason=reason, **meta)

    x = np.clip(raw.x, matrices.col_lower, matrices.col_upper)
    solution = DispatchSolution(status="optimal", objective=raw.objective, **meta)
    for g, s in enumerate(problem.sources):
        available = s.capacity_mw * np.asarray(s.availability, dtype=float)
        solution.power[s.name] = x[layout.p(g)]
        solution.available[s.name] = available
        spilled = np.maximum(available - x[layout.p(g)], 0.0)
        solution.curtailment[s.name] = spilled if s.renewable else np.zeros(n_t)
    for b, unit in enumerate(problem.storage):
        solution.charge[unit.name] = x[layout.ch(b)]
        solution.discharge[unit.name] = x[layout.dis(b)]
        solution.soc[unit.name] = x[layout.soc(b)]
    solution.shed, solution.dump = x[layout.shed], x[layout.dump]
    if raw.balance_dual is not None:
        solution.price = raw.balance_dual / problem.dt_hours
    peak = max(float(np.max(problem.demand_mw)), 1.0)
    if solution.shed.max() > SHORTFALL_TOLERANCE * peak:
        solution.status = "optimal_with_shortfalls"
        unserved = float(solution.shed.sum() * problem.dt_hours)
        solution.reason = f"{unserved:.6g} MWh of demand cannot be served by the fleet"
    return solution
