"""The dispatch LP as sparse matrices: column layout, bounds, rows (see lp.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

if TYPE_CHECKING:
    from optimization.lp import DispatchProblem, Policy, SourceSpec

# A tiny cost on charging breaks the tie that otherwise lets a battery charge and
# discharge in the same interval at no cost when energy is spilled anyway.
CHARGE_TIEBREAK = 1e-3


def source_cost(source: SourceSpec, policy: Policy) -> float:
    """Cost per MWh of a source's output, CO2 priced in."""
    return source.marginal_cost + policy.co2_price * source.co2_t_per_mwh


@dataclass
class LpLayout:
    """Column offsets of each variable block."""

    sources: int
    storage: int
    intervals: int

    def p(self, g: int) -> slice:
        return slice(g * self.intervals, (g + 1) * self.intervals)

    def _storage_block(self, b: int, which: int) -> slice:
        start = (self.sources + 3 * b + which) * self.intervals
        return slice(start, start + self.intervals)

    def ch(self, b: int) -> slice:
        return self._storage_block(b, 0)

    def dis(self, b: int) -> slice:
        return self._storage_block(b, 1)

    def soc(self, b: int) -> slice:
        return self._storage_block(b, 2)

    @property
    def shed(self) -> slice:
        start = (self.sources + 3 * self.storage) * self.intervals
        return slice(start, start + self.intervals)

    @property
    def dump(self) -> slice:
        start = (self.sources + 3 * self.storage + 1) * self.intervals
        return slice(start, start + self.intervals)

    @property
    def columns(self) -> int:
        return (self.sources + 3 * self.storage + 2) * self.intervals


@dataclass
class LpMatrices:
    cost: np.ndarray
    col_lower: np.ndarray
    col_upper: np.ndarray
    a: sp.csr_matrix
    row_lower: np.ndarray
    row_upper: np.ndarray
    balance_rows: slice


def lp_matrices_build(problem: DispatchProblem, layout: LpLayout) -> LpMatrices:
    n_t, dt, policy = problem.intervals, problem.dt_hours, problem.policy
    demand = np.asarray(problem.demand_mw, dtype=float)
    eye = sp.identity(n_t, format="csr")
    # (soc_t - soc_{t-1}) and (p_t - p_{t-1}) as sparse differences.
    step = sp.diags([np.ones(n_t), -np.ones(n_t - 1)], [0, -1], format="csr")
    cost = np.zeros(layout.columns)
    lower = np.zeros(layout.columns)
    upper = np.full(layout.columns, np.inf)
    row_lower, row_upper, row_groups = [], [], []

    def add_rows(entries: list[tuple[slice, sp.spmatrix]], lo, hi) -> None:
        row_groups.append(entries)
        row_lower.append(np.asarray(lo, dtype=float))
        row_upper.append(np.asarray(hi, dtype=float))

    balance = [(layout.shed, eye), (layout.dump, -eye)]
    for g, s in enumerate(problem.sources):
        available = s.capacity_mw * np.asarray(s.availability, dtype=float)
        cost[layout.p(g)] = dt * source_cost(s, policy)
        lower[layout.p(g)] = s.must_run_fraction * available
        upper[layout.p(g)] = available
        balance.append((layout.p(g), eye))
    for b, unit in enumerate(problem.storage):
        cost[layout.ch(b)] = dt * CHARGE_TIEBREAK
        cost[layout.dis(b)] = dt * unit.cycle_cost
        upper[layout.ch(b)] = unit.power_mw
        upper[layout.dis(b)] = unit.power_mw
        lower[layout.soc(b)] = unit.min_soc * unit.energy_mwh
        upper[layout.soc(b)] = unit.max_soc * unit.energy_mwh
        balance += [(layout.dis(b), eye), (layout.ch(b), -eye)]
    cost[layout.shed] = dt * policy.voll
    cost[layout.dump] = dt * policy.dump_penalty
    upper[layout.shed] = demand
    add_rows(balance, demand, demand)

    for b, unit in enumerate(problem.storage):
        # soc_t - soc_{t-1} - eta_c dt ch_t + dt / eta_d dis_t = 0 (t = 0: = initial).
        rhs = np.zeros(n_t)
        rhs[0] = unit.initial_soc * unit.energy_mwh
        add_rows(
            [
                (layout.soc(b), step),
                (layout.ch(b), -unit.charge_efficiency * dt * eye),
                (layout.dis(b), dt / unit.discharge_efficiency * eye),
            ],
            rhs,
            rhs,
        )
    for g, s in enumerate(problem.sources):
        if s.ramp_limit_per_hour is None or n_t < 2:
            continue
        per_interval = s.ramp_limit_per_hour * s.capacity_mw * dt
        add_rows(
            [(layout.p(g), step[1:])],
            np.full(n_t - 1, -per_interval),
            np.full(n_t - 1, per_interval),
        )

    rows = [_place(entries, layout.columns) for entries in row_groups]
    return LpMatrices(
        cost=cost,
        col_lower=lower,
        col_upper=upper,
        a=sp.vstack(rows, format="csr"),
        row_lower=np.concatenate(row_lower),
        row_upper=np.concatenate(row_upper),
        balance_rows=slice(0, n_t),
    )


def _place(entries: list[tuple[slice, sp.spmatrix]], n_cols: int) -> sp.csr_matrix:
    """Put each (column slice, block) at its columns of one row group."""
    n_rows = entries[0][1].shape[0]
    row_idx, col_idx, values = [], [], []
    for columns, block in entries:
        coo = sp.coo_matrix(block)
        row_idx.append(coo.row)
        col_idx.append(coo.col + columns.start)
        values.append(coo.data)
    return sp.csr_matrix(
        (np.concatenate(values), (np.concatenate(row_idx), np.concatenate(col_idx))),
        shape=(n_rows, n_cols),
    )
