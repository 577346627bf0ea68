"""The dispatch LP's problem and solution types, and its default penalties.

The bottom of optimization.lp: plain dataclasses that every other module of the package
takes or returns, and nothing of the package itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

DEFAULT_VOLL = 10_000.0
# The penalty order, highest first (docs/dispatch.md, Objective and the order of penalties):
# VoLL > reserve shortfall > dump > policy shortfalls > terminal SoC > real costs.
DEFAULT_RESERVE_SHORTFALL_PENALTY = 5_000.0
DEFAULT_DUMP_PENALTY = 3_000.0
DEFAULT_POLICY_SHORTFALL_PENALTY = 2_000.0  # per MWh of renewable share, per t of CO2
DEFAULT_TERMINAL_SOC_PENALTY = 1_000.0
SHORTFALL_TOLERANCE = 1e-6  # of peak demand, in MW
VARIABLE_KINDS = ("solar", "wind")


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
    daily_budget_mwh: float | None = None
    reserve_fraction: float = 1.0  # share of capacity that may be held as upward reserve
    reserve_cost: float = 0.0  # per MW held for one hour
    variable: bool | None = None  # weather-driven; None: solar and wind are

    @property
    def is_slow(self) -> bool:
        """Committed before demand is known (stochastic mode): a must-run floor or a
        ramp that cannot cross the whole range within an hour."""
        slow_ramp = self.ramp_limit_per_hour is not None and self.ramp_limit_per_hour < 1
        return self.must_run_fraction > 0 or slow_ramp

    @property
    def is_variable(self) -> bool:
        return self.kind in VARIABLE_KINDS if self.variable is None else self.variable

    @property
    def gives_reserve(self) -> bool:
        """Variable renewables give no upward reserve (docs/dispatch.md, Constraints, 6)."""
        return not self.is_variable and self.reserve_fraction > 0 and self.capacity_mw > 0


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
    terminal_soc: float | None = None  # soft target at the end of the plan

    @property
    def round_trip_efficiency(self) -> float:
        return self.charge_efficiency * self.discharge_efficiency


@dataclass
class Policy:
    voll: float = DEFAULT_VOLL
    co2_price: float = 0.0
    dump_penalty: float = DEFAULT_DUMP_PENALTY
    reserve_shortfall_penalty: float = DEFAULT_RESERVE_SHORTFALL_PENALTY
    renewable_shortfall_penalty: float = DEFAULT_POLICY_SHORTFALL_PENALTY
    co2_shortfall_penalty: float = DEFAULT_POLICY_SHORTFALL_PENALTY
    terminal_soc_penalty: float = DEFAULT_TERMINAL_SOC_PENALTY
    co2_cap: float | None = None  # t over the plan (soft)
    min_renewable_share: float | None = None  # of served energy (soft, robust form)
    allow_dump: bool = True


@dataclass
class DispatchProblem:
    demand_mw: np.ndarray
    dt_hours: float
    sources: list[SourceSpec]
    storage: list[StorageSpec] = field(default_factory=list)
    policy: Policy = field(default_factory=Policy)
    # Upward reserve requirement per interval (reserve mode); None in base mode.
    reserve_mw: np.ndarray | None = None
    # Budget day of each interval (0, 1, ...) and the share of a daily budget each day
    # gets (a part-day or a 23-hour DST day gets less); None: days of 24 h from the start.
    day_of_interval: np.ndarray | None = None
    day_share: np.ndarray | None = None
    # Stochastic mode: (label, probability, demand per interval) per demand scenario;
    # slow units (SourceSpec.is_slow) get one plan for all of them (stochastic.py).
    scenarios: list[tuple[str, float, np.ndarray]] | None = None

    @property
    def intervals(self) -> int:
        return len(self.demand_mw)

    @property
    def has_reserve(self) -> bool:
        return self.reserve_mw is not None

    def budget_days(self) -> tuple[np.ndarray, np.ndarray]:
        """(day index per interval, budget share per day)."""
        if self.day_of_interval is not None and self.day_share is not None:
            return np.asarray(self.day_of_interval, dtype=int), np.asarray(self.day_share, float)
        per_day = max(int(round(24 / self.dt_hours)), 1)
        days = np.arange(self.intervals) // per_day
        counts = np.bincount(days)
        return days, np.minimum(counts * self.dt_hours / 24.0, 1.0)


@dataclass
class Shortfall:
    constraint: str
    target: float
    achieved: float
    shortfall: float
    unit: str

    def as_dict(self) -> dict:
        return {
            "constraint": self.constraint,
            "target": self.target,
            "achieved": self.achieved,
            "shortfall": self.shortfall,
            "unit": self.unit,
        }


@dataclass
class DispatchSolution:
    status: str  # optimal, optimal_with_shortfalls, infeasible, time_limit
    reason: str = ""
    objective: float | None = None
    power: dict[str, np.ndarray] = field(default_factory=dict)
    available: dict[str, np.ndarray] = field(default_factory=dict)
    curtailment: dict[str, np.ndarray] = field(default_factory=dict)
    reserve: dict[str, np.ndarray] = field(default_factory=dict)  # sources and storage
    cost: dict[str, np.ndarray] = field(default_factory=dict)  # per interval, sources+storage
    co2: dict[str, np.ndarray] = field(default_factory=dict)  # t per interval
    charge: dict[str, np.ndarray] = field(default_factory=dict)
    discharge: dict[str, np.ndarray] = field(default_factory=dict)
    soc: dict[str, np.ndarray] = field(default_factory=dict)  # MWh at the end of each t
    shed: np.ndarray | None = None
    dump: np.ndarray | None = None
    reserve_shortfall: np.ndarray | None = None
    price: np.ndarray | None = None  # balance dual, per MWh
    shortfalls: list[Shortfall] = field(default_factory=list)
    kpis: dict[str, float | None] = field(default_factory=dict)
    conflicts: list[str] = field(default_factory=list)  # names of conflicting constraints
    stage_objectives: list[float] = field(default_factory=list)
    # Stochastic mode: per scenario {label, probability, objective share, power by source}.
    scenarios: list[dict] = field(default_factory=list)
    solver: str = ""
    solver_version: str = ""
    solve_seconds: float = 0.0

    @property
    def is_feasible(self) -> bool:
        return self.status not in ("infeasible", "time_limit")
