"""The dispatch LP as sparse matrices: column layout, bounds, rows and their names.

Columns, all >= 0, in blocks of one per interval: p[g] (and r[g] for sources that give
reserve, in reserve mode), ch[b], dis[b], soc[b] (and rb[b] in reserve mode), shed,
dump, reserve shortfall; then single columns for the renewable-share, CO2-cap and
terminal-SoC shortfalls. Row groups (balance first, its dual is the price) keep a
name, so that an infeasible model can say which constraints conflict.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from optimization.lp.problem import DispatchProblem
from optimization.lp.validate import source_cost

# A tiny cost on charging breaks the tie that otherwise lets a battery charge and
# discharge in the same interval at no cost when energy is spilled anyway.
CHARGE_TIEBREAK = 1e-3


class LpLayout:
    """Column offsets of each variable block."""

    def __init__(self, problem: DispatchProblem):
        self.intervals = n_t = problem.intervals
        self.blocks: list[tuple[str, str, int, int]] = []  # (role, owner, start, length)
        self._at: dict[tuple[str, str], slice] = {}
        for s in problem.sources:
            self._add("p", s.name, n_t)
        if problem.has_reserve:
            for s in problem.sources:
                if s.gives_reserve:
                    self._add("r", s.name, n_t)
        for b in problem.storage:
            for role in ("ch", "dis", "soc"):
                self._add(role, b.name, n_t)
            if problem.has_reserve:
                self._add("rb", b.name, n_t)
        self._add("shed", "", n_t)
        self._add("dump", "", n_t)
        if problem.has_reserve:
            self._add("reserve_short", "", n_t)
        if problem.policy.min_renewable_share is not None:
            self._add("renewable_short", "", 1)
        if problem.policy.co2_cap is not None:
            self._add("co2_short", "", 1)
        for b in problem.storage:
            if b.terminal_soc is not None:
                self._add("terminal_short", b.name, 1)
        self.columns = sum(block[3] for block in self.blocks)

    def _add(self, role: str, owner: str, length: int) -> None:
        start = sum(block[3] for block in self.blocks)
        self.blocks.append((role, owner, start, length))
        self._at[(role, owner)] = slice(start, start + length)

    def get(self, role: str, owner: str = "") -> slice | None:
        return self._at.get((role, owner))

    def __getitem__(self, key: tuple[str, str]) -> slice:
        return self._at[key]

    def column_owner(self, index: int) -> tuple[str, str, int]:
        for role, owner, start, length in self.blocks:
            if start <= index < start + length:
                return role, owner, index - start
        raise IndexError(index)


@dataclass
class RowNames:
    """Names of row groups and column bounds, for infeasibility reports."""

    layout: LpLayout
    groups: list[tuple[str, int, int]] = field(default_factory=list)  # (name, start, length)

    def row(self, index: int) -> str:
        for name, start, length in self.groups:
            if start <= index < start + length:
                return name if length == 1 else f"{name} at interval {index - start}"
        return f"row {index}"

    def column(self, index: int, bound: str) -> str:
        role, owner, t = self.layout.column_owner(index)
        which = {
            ("p", "lower"): "must-run of {owner}",
            ("p", "upper"): "capacity x availability of {owner}",
            ("dump", "upper"): "no dump allowed",
            ("shed", "upper"): "unserved energy <= demand",
            ("soc", "lower"): "minimum SoC of {owner}",
            ("soc", "upper"): "maximum SoC of {owner}",
            ("ch", "upper"): "charge power of {owner}",
            ("dis", "upper"): "discharge power of {owner}",
        }.get((role, bound), f"{bound} bound of {role} {{owner}}")
        name = which.format(owner=owner).strip()
        block = self.layout[role, owner]
        return f"{name} at interval {t}" if block.stop - block.start > 1 else name

    def describe(self, item: tuple[str, int, str]) -> str:
        kind, index, bound = item
        return self.row(index) if kind == "row" else self.column(index, bound)


@dataclass
class LpMatrices:
    cost: np.ndarray  # the final (full) objective
    col_lower: np.ndarray
    col_upper: np.ndarray
    a: sp.csr_matrix
    row_lower: np.ndarray
    row_upper: np.ndarray
    balance_rows: slice
    # Lexicographic stages before the full cost: (name, objective vector) each.
    stages: list[tuple[str, np.ndarray]]
    names: RowNames


class _RowBuilder:
    def __init__(self, n_cols: int, names: RowNames):
        self.n_cols, self.names = n_cols, names
        self.blocks: list[sp.csr_matrix] = []
        self.lower: list[np.ndarray] = []
        self.upper: list[np.ndarray] = []
        self.count = 0

    def add(self, name: str, entries: list[tuple[slice, sp.spmatrix]], lo, hi) -> None:
        n_rows = entries[0][1].shape[0]
        row_idx, col_idx, values = [], [], []
        for columns, block in entries:
            coo = sp.coo_matrix(block)
            row_idx.append(coo.row)
            col_idx.append(coo.col + columns.start)
            values.append(coo.data)
        self.blocks.append(
            sp.csr_matrix(
                (np.concatenate(values), (np.concatenate(row_idx), np.concatenate(col_idx))),
                shape=(n_rows, self.n_cols),
            )
        )
        self.lower.append(np.broadcast_to(np.asarray(lo, dtype=float), n_rows))
        self.upper.append(np.broadcast_to(np.asarray(hi, dtype=float), n_rows))
        self.names.groups.append((name, self.count, n_rows))
        self.count += n_rows


def lp_matrices_build(problem: DispatchProblem, layout: LpLayout) -> LpMatrices:
    n_t, dt, policy = problem.intervals, problem.dt_hours, problem.policy
    demand = np.asarray(problem.demand_mw, dtype=float)
    eye = sp.identity(n_t, format="csr")
    ones_row = sp.csr_matrix(np.ones((1, n_t)))
    # (soc_t - soc_{t-1}) and (p_t - p_{t-1}) as sparse differences.
    step = sp.diags([np.ones(n_t), -np.ones(n_t - 1)], [0, -1], format="csr")
    cost = np.zeros(layout.columns)
    lower = np.zeros(layout.columns)
    upper = np.full(layout.columns, np.inf)
    names = RowNames(layout)
    rows = _RowBuilder(layout.columns, names)
    available = {
        s.name: s.capacity_mw * np.asarray(s.availability, dtype=float) for s in problem.sources
    }

    balance = [(layout["shed", ""], eye), (layout["dump", ""], -eye)]
    for s in problem.sources:
        p = layout["p", s.name]
        cost[p] = dt * source_cost(s, policy)
        lower[p] = s.must_run_fraction * available[s.name]
        upper[p] = available[s.name]
        balance.append((p, eye))
    for b in problem.storage:
        ch, dis, soc = layout["ch", b.name], layout["dis", b.name], layout["soc", b.name]
        cost[ch] = dt * CHARGE_TIEBREAK
        cost[dis] = dt * b.cycle_cost
        upper[ch] = upper[dis] = b.power_mw
        lower[soc] = b.min_soc * b.energy_mwh
        upper[soc] = b.max_soc * b.energy_mwh
        balance += [(dis, eye), (ch, -eye)]
    cost[layout["shed", ""]] = dt * policy.voll
    cost[layout["dump", ""]] = dt * policy.dump_penalty
    upper[layout["shed", ""]] = demand
    if not policy.allow_dump:
        upper[layout["dump", ""]] = 0.0
    rows.add("balance", balance, demand, demand)

    for b in problem.storage:
        # soc_t - soc_{t-1} - eta_c dt ch_t + dt / eta_d dis_t = 0 (t = 0: = initial).
        rhs = np.zeros(n_t)
        rhs[0] = b.initial_soc * b.energy_mwh
        rows.add(
            f"SoC recursion of {b.name}",
            [
                (layout["soc", b.name], step),
                (layout["ch", b.name], -b.charge_efficiency * dt * eye),
                (layout["dis", b.name], dt / b.discharge_efficiency * eye),
            ],
            rhs,
            rhs,
        )
    for s in problem.sources:
        if s.ramp_limit_per_hour is None or n_t < 2:
            continue
        per_interval = s.ramp_limit_per_hour * s.capacity_mw * dt
        rows.add(
            f"ramp limit of {s.name}",
            [(layout["p", s.name], step[1:])],
            -per_interval,
            per_interval,
        )
    _budget_rows(problem, layout, rows)
    if problem.has_reserve:
        _reserve_rows(problem, layout, rows, cost, upper, available)
    _policy_rows(problem, layout, rows, cost, ones_row)

    matrices = LpMatrices(
        cost=cost,
        col_lower=lower,
        col_upper=upper,
        a=sp.vstack(rows.blocks, format="csr"),
        row_lower=np.concatenate(rows.lower),
        row_upper=np.concatenate(rows.upper),
        balance_rows=slice(0, n_t),
        stages=_stages(problem, layout, cost),
        names=names,
    )
    return matrices


def _budget_rows(problem: DispatchProblem, layout: LpLayout, rows: _RowBuilder) -> None:
    budgeted = [s for s in problem.sources if s.daily_budget_mwh is not None]
    if not budgeted:
        return
    days, share = problem.budget_days()
    n_days = int(days.max()) + 1
    by_day = sp.csr_matrix(
        (np.full(problem.intervals, problem.dt_hours), (days, np.arange(problem.intervals))),
        shape=(n_days, problem.intervals),
    )
    for s in budgeted:
        rows.add(
            f"daily energy budget of {s.name}",
            [(layout["p", s.name], by_day)],
            -np.inf,
            s.daily_budget_mwh * share[:n_days],
        )


def _reserve_rows(problem, layout, rows, cost, upper, available) -> None:
    n_t, dt = problem.intervals, problem.dt_hours
    eye = sp.identity(n_t, format="csr")
    requirement = [(layout["reserve_short", ""], eye)]
    for s in problem.sources:
        r = layout.get("r", s.name)
        if r is None:
            continue
        cost[r] = dt * s.reserve_cost
        held = s.reserve_fraction * available[s.name]
        if s.ramp_limit_per_hour is not None:  # deliverable within the interval
            held = np.minimum(held, s.ramp_limit_per_hour * s.capacity_mw * dt)
        upper[r] = held
        rows.add(
            f"reserve headroom of {s.name}",
            [(layout["p", s.name], eye), (r, eye)],
            -np.inf,
            available[s.name],
        )
        requirement.append((r, eye))
    for b in problem.storage:
        rb = layout["rb", b.name]
        rows.add(
            f"reserve power headroom of {b.name}",
            [(layout["dis", b.name], eye), (rb, eye)],
            -np.inf,
            b.power_mw,
        )
        # Energy to sustain the reserve for one interval stays above the minimum SoC.
        rows.add(
            f"reserve energy of {b.name}",
            [(rb, dt / b.discharge_efficiency * eye), (layout["soc", b.name], -eye)],
            -np.inf,
            -b.min_soc * b.energy_mwh,
        )
        requirement.append((rb, eye))
    cost[layout["reserve_short", ""]] = dt * problem.policy.reserve_shortfall_penalty
    rows.add("reserve requirement", requirement, np.asarray(problem.reserve_mw, float), np.inf)


def _policy_rows(problem, layout, rows, cost, ones_row) -> None:
    dt, policy = problem.dt_hours, problem.policy
    one = sp.csr_matrix(np.ones((1, 1)))
    if policy.co2_cap is not None:
        short = layout["co2_short", ""]
        entries = [(short, -one)]
        entries += [
            (layout["p", s.name], dt * s.co2_t_per_mwh * ones_row)
            for s in problem.sources
            if s.co2_t_per_mwh > 0
        ]
        cost[short] = policy.co2_shortfall_penalty
        rows.add("CO2 cap", entries, -np.inf, policy.co2_cap)
    if policy.min_renewable_share is not None:
        # Robust form: non-renewable energy <= (1 - s) * served energy.
        keep = 1.0 - policy.min_renewable_share
        short = layout["renewable_short", ""]
        entries = [(short, -one), (layout["shed", ""], keep * dt * ones_row)]
        entries += [
            (layout["p", s.name], dt * ones_row) for s in problem.sources if not s.renewable
        ]
        cost[short] = policy.renewable_shortfall_penalty
        served_target = keep * dt * float(np.sum(problem.demand_mw))
        rows.add("minimum renewable share", entries, -np.inf, served_target)
    for b in problem.storage:
        if b.terminal_soc is None:
            continue
        short = layout["terminal_short", b.name]
        last = sp.csr_matrix(([1.0], ([0], [problem.intervals - 1])), shape=(1, problem.intervals))
        cost[short] = policy.terminal_soc_penalty
        rows.add(
            f"terminal SoC of {b.name}",
            [(layout["soc", b.name], last), (short, one)],
            b.terminal_soc * b.energy_mwh,
            np.inf,
        )


def _stages(problem: DispatchProblem, layout: LpLayout, cost: np.ndarray):
    """Stage 1: unserved energy and reserve; stage 2: policy shortfalls (if any)."""
    security = np.zeros(layout.columns)
    for role in ("shed", "reserve_short"):
        block = layout.get(role)
        if block is not None:
            security[block] = cost[block]
    stages = [("security", security)]
    policy = np.zeros(layout.columns)
    for role in ("renewable_short", "co2_short"):
        block = layout.get(role)
        if block is not None:
            policy[block] = cost[block]
    if policy.any():
        stages.append(("policy", policy))
    return stages
