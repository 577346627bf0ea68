"""Stochastic mode (optional; docs/dispatch.md, Modes): a few demand scenarios, one plan
for the slow units.

Each scenario is the deterministic LP at its own demand; the scenario LPs are stacked
block-diagonally with their costs weighted by probability, and non-anticipativity rows
make every slow unit (must-run floor or a ramp slower than its range per hour) produce
the same in every scenario: it is committed before demand is known, while fast units,
storage, shed and dump follow each scenario. Rows are reordered so that every
scenario's balance rows come first; the reported price is the expected one.

The plan that is stored is the median scenario's (its q50 balance holds), with the
expected cost as the objective.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import scipy.sparse as sp

from optimization.lp.backends import BACKENDS, RawResult
from optimization.lp.conflicts import dispatch_conflicts
from optimization.lp.matrix import LpLayout, LpMatrices, lp_matrices_build
from optimization.lp.problem import DispatchProblem, DispatchSolution
from optimization.lp.results import solution_from_raw


def _scenario_problem(problem: DispatchProblem, demand: np.ndarray) -> DispatchProblem:
    return dataclasses.replace(problem, demand_mw=np.asarray(demand, float), scenarios=None)


def stochastic_matrices_build(problem: DispatchProblem):
    """(stacked LpMatrices, per-scenario (problem, layout, matrices, column offset))."""
    parts, offset = [], 0
    for _, _, demand in problem.scenarios:
        scenario = _scenario_problem(problem, demand)
        layout = LpLayout(scenario)
        parts.append((scenario, layout, lp_matrices_build(scenario, layout), offset))
        offset += layout.columns
    n_cols, n_t = offset, problem.intervals
    probabilities = [p for _, p, _ in problem.scenarios]

    def weighted(vectors) -> np.ndarray:
        return np.concatenate([p * v for p, v in zip(probabilities, vectors, strict=True)])

    balance, rest, lower, upper = [], [], [], []
    for _, _, m, _ in parts:
        balance.append(m.a[:n_t])
        rest.append(m.a[n_t:])
    blocks = [sp.block_diag(balance, format="csr"), sp.block_diag(rest, format="csr")]
    for part_rows in (slice(0, n_t), slice(n_t, None)):
        lower += [m.row_lower[part_rows] for _, _, m, _ in parts]
        upper += [m.row_upper[part_rows] for _, _, m, _ in parts]
    links = _non_anticipativity(parts, n_cols)
    if links is not None:
        blocks.append(links)
        lower.append(np.zeros(links.shape[0]))
        upper.append(np.zeros(links.shape[0]))
    first = parts[0][2]
    stages = [
        (name, weighted([m.stages[i][1] for _, _, m, _ in parts]))
        for i, (name, _) in enumerate(first.stages)
    ]
    stacked = LpMatrices(
        cost=weighted([m.cost for _, _, m, _ in parts]),
        col_lower=np.concatenate([m.col_lower for _, _, m, _ in parts]),
        col_upper=np.concatenate([m.col_upper for _, _, m, _ in parts]),
        a=sp.vstack(blocks, format="csr"),
        row_lower=np.concatenate(lower),
        row_upper=np.concatenate(upper),
        balance_rows=slice(0, n_t * len(parts)),
        stages=stages,
        names=first.names,
    )
    return stacked, parts


def _non_anticipativity(parts, n_cols: int) -> sp.csr_matrix | None:
    """p_s[g, t] - p_0[g, t] = 0 for every slow source g and scenario s > 0."""
    problem0, layout0, _, offset0 = parts[0]
    slow = [s.name for s in problem0.sources if s.is_slow]
    rows, cols, values, row = [], [], [], 0
    for _, layout, _, offset in parts[1:]:
        for name in slow:
            first, this = layout0["p", name], layout["p", name]
            n = first.stop - first.start
            rows += [*range(row, row + n)] * 2
            cols += [*range(offset + this.start, offset + this.stop)]
            cols += [*range(offset0 + first.start, offset0 + first.stop)]
            values += [1.0] * n + [-1.0] * n
            row += n
    if not row:
        return None
    return sp.csr_matrix((values, (rows, cols)), shape=(row, n_cols))


def solve_stochastic(problem: DispatchProblem, backend: str) -> DispatchSolution:
    stacked, parts = stochastic_matrices_build(problem)
    raw = BACKENDS[backend](stacked)
    meta = {"solver": raw.solver, "solver_version": raw.version, "solve_seconds": raw.seconds}
    if raw.status != "optimal":
        conflicts = []
        for scenario, *_ in parts:  # name the clash on the scenario that has it
            conflicts = dispatch_conflicts(scenario)
            if conflicts:
                break
        reason = ", ".join(conflicts[:12]) or f"{raw.solver} reported: {raw.message}"
        status = raw.status if raw.status in ("infeasible", "time_limit") else "infeasible"
        return DispatchSolution(status=status, reason=reason, conflicts=conflicts, **meta)
    n_t = problem.intervals
    duals = None
    if raw.balance_dual is not None:
        # Each scenario's dual carries its probability: their sum is the expected price.
        duals = np.asarray(raw.balance_dual).reshape(len(parts), n_t).sum(axis=0)
    median = _median_index(problem)
    summaries, plan = [], None
    for index, ((label, probability, _), (scenario, layout, m, offset)) in enumerate(
        zip(problem.scenarios, parts, strict=True)
    ):
        x = raw.x[offset : offset + layout.columns]
        part = RawResult("optimal", raw.message, x, duals, raw.objective, raw.solver,
                         raw.version, raw.seconds, raw.stage_objectives)  # fmt: skip
        solution = solution_from_raw(scenario, layout, m, part, meta)
        summaries.append(
            {
                "label": label,
                "probability": probability,
                "cost": solution.kpis["cost"],
                "unserved_mwh": solution.kpis["unserved_mwh"],
                "power": solution.power,
            }
        )
        if index == median:
            plan = solution
    plan.scenarios = summaries
    plan.kpis["expected_cost"] = float(sum(s["probability"] * s["cost"] for s in summaries))
    return plan


def _median_index(problem: DispatchProblem) -> int:
    """The scenario whose demand is the problem's own (q50), else the middle one."""
    for index, (_, _, demand) in enumerate(problem.scenarios):
        if np.array_equal(np.asarray(demand, float), np.asarray(problem.demand_mw, float)):
            return index
    return len(problem.scenarios) // 2
