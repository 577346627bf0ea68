"""Lexicographic solve on two backends: HiGHS through highspy, and scipy's linprog.

Both run the same stages (matrix._stages): minimise unserved energy and reserve
shortfall, hold that optimum, minimise policy shortfalls, hold that, then minimise the
full cost. A stage whose optimum is zero fixes its slacks at zero by column bounds (so
the final balance duals stay clean prices); otherwise a row keeps it within a small
tolerance of its optimum.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from dataclasses import dataclass, field

import highspy
import numpy as np
import scipy
import scipy.sparse as sp
from scipy.optimize import linprog

from optimization.lp.matrix import LpMatrices

STAGE_ZERO = 1e-9  # currency: a stage optimum this small is zero, its slacks fixed at 0
STAGE_ABS_TOL = 1e-6  # otherwise a row keeps the stage within these of its optimum
STAGE_REL_TOL = 1e-7
IIS_BOUNDS = {2: "lower", 3: "upper", 4: "upper"}


@dataclass
class RawResult:
    status: str  # optimal, infeasible, time_limit, error
    message: str
    x: np.ndarray | None
    balance_dual: np.ndarray | None
    objective: float | None
    solver: str
    version: str
    seconds: float
    stage_objectives: list[float] = field(default_factory=list)
    conflicts: list[tuple[str, int, str]] = field(default_factory=list)


_banner_lock = threading.Lock()
_banner_done = False


def new_highs() -> highspy.Highs:
    """A quiet HiGHS instance. The first one of a process prints HiGHS's copyright banner
    on the C library's stdout, where no logging setting reaches it: that one is made with
    stdout pointed at /dev/null, so that a worker's output stays JSON log lines."""
    global _banner_done
    with _banner_lock:
        if not _banner_done:
            sys.stdout.flush()
            saved, devnull = os.dup(1), os.open(os.devnull, os.O_WRONLY)
            try:
                os.dup2(devnull, 1)
                highspy.Highs()
            finally:
                os.dup2(saved, 1)
                os.close(saved)
                os.close(devnull)
            _banner_done = True
    highs = highspy.Highs()
    highs.setOptionValue("output_flag", False)
    return highs


def _stage_hold(objective: np.ndarray, value: float):
    """What keeps a stage at its optimum: ('zero', columns) or ('row', columns, values, hi)."""
    columns = np.flatnonzero(objective)
    if value <= STAGE_ZERO:
        return ("zero", columns)
    return ("row", columns, objective[columns], value + STAGE_REL_TOL * abs(value) + STAGE_ABS_TOL)


def solve_highspy(m: LpMatrices) -> RawResult:
    csc = m.a.tocsc()
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = csc.shape[1], csc.shape[0]
    objectives = [stage[1] for stage in m.stages] + [m.cost]
    lp.col_cost_, lp.col_lower_, lp.col_upper_ = objectives[0], m.col_lower, m.col_upper
    lp.row_lower_, lp.row_upper_ = m.row_lower, m.row_upper
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = csc.shape[1], csc.shape[0]
    lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = (
        csc.indptr,
        csc.indices,
        csc.data,
    )
    highs = new_highs()
    highs.passModel(lp)
    statuses = {
        highspy.HighsModelStatus.kOptimal: "optimal",
        highspy.HighsModelStatus.kInfeasible: "infeasible",
        highspy.HighsModelStatus.kTimeLimit: "time_limit",
    }
    all_columns = np.arange(csc.shape[1], dtype=np.int32)
    seconds, stage_values = 0.0, []
    for number, objective in enumerate(objectives):
        if number:
            hold = _stage_hold(objectives[number - 1], stage_values[-1])
            columns = hold[1].astype(np.int32)
            if hold[0] == "zero":
                zeros = np.zeros(len(columns))
                highs.changeColsBounds(len(columns), columns, zeros, zeros)
            else:
                highs.addRow(-highspy.kHighsInf, hold[3], len(columns), columns, hold[2])
            highs.changeColsCost(len(all_columns), all_columns, objective)
        started = time.perf_counter()
        highs.run()
        seconds += time.perf_counter() - started
        model_status = highs.getModelStatus()
        status = statuses.get(model_status, "error")
        if status != "optimal":
            message = highs.modelStatusToString(model_status)
            conflicts = _highs_conflicts(highs) if status == "infeasible" else []
            return RawResult(status, message, None, None, None, "highs", highs.version(),
                             seconds, stage_values, conflicts)  # fmt: skip
        stage_values.append(highs.getInfo().objective_function_value)
    solution = highs.getSolution()
    x = np.asarray(solution.col_value)
    dual = np.asarray(solution.row_dual)[m.balance_rows] if solution.dual_valid else None
    return RawResult("optimal", "Optimal", x, dual, stage_values[-1], "highs", highs.version(),
                     seconds, stage_values)  # fmt: skip


def _highs_conflicts(highs) -> list[tuple[str, int, str]]:
    """An irreducible infeasible subsystem as (row|column, index, bound) triples."""
    try:
        status, iis = highs.getIis()
    except Exception:  # an older highspy without IIS: the caller still has a reason
        return []
    if not iis.valid_:
        return []
    found = [
        ("row", int(i), IIS_BOUNDS.get(int(b), "upper"))
        for i, b in zip(iis.row_index_, iis.row_bound_, strict=False)
    ]
    found += [
        ("column", int(i), IIS_BOUNDS.get(int(b), "upper"))
        for i, b in zip(iis.col_index_, iis.col_bound_, strict=False)
        if int(b) in IIS_BOUNDS
    ]
    return found


def solve_scipy(m: LpMatrices) -> RawResult:
    equal = m.row_lower == m.row_upper
    has_upper = ~equal & np.isfinite(m.row_upper)
    has_lower = ~equal & np.isfinite(m.row_lower)
    a_ub = sp.vstack([m.a[has_upper], -m.a[has_lower]], format="csr")
    b_ub = np.concatenate([m.row_upper[has_upper], -m.row_lower[has_lower]])
    a_eq, b_eq = m.a[equal], m.row_lower[equal]
    upper = m.col_upper.copy()
    objectives = [stage[1] for stage in m.stages] + [m.cost]
    seconds, stage_values, result = 0.0, [], None
    for number, objective in enumerate(objectives):
        if number:
            hold = _stage_hold(objectives[number - 1], stage_values[-1])
            if hold[0] == "zero":
                upper[hold[1]] = 0.0
            else:
                row = sp.csr_matrix(
                    (hold[2], (np.zeros(len(hold[1]), dtype=int), hold[1])),
                    shape=(1, len(objective)),
                )
                a_ub = sp.vstack([a_ub, row], format="csr")
                b_ub = np.append(b_ub, hold[3])
        started = time.perf_counter()
        result = linprog(
            objective,
            A_ub=a_ub if a_ub.shape[0] else None,
            b_ub=b_ub if a_ub.shape[0] else None,
            A_eq=a_eq,
            b_eq=b_eq,
            bounds=np.column_stack([m.col_lower, upper]),
            method="highs",
        )
        seconds += time.perf_counter() - started
        status = {0: "optimal", 1: "time_limit", 2: "infeasible"}.get(result.status, "error")
        if status != "optimal":
            return RawResult(status, result.message, None, None, None, "scipy-highs",
                             scipy.__version__, seconds, stage_values)  # fmt: skip
        stage_values.append(float(result.fun))
    # The balance rows come first among the equalities, in order.
    n_balance = m.balance_rows.stop - m.balance_rows.start
    dual = np.asarray(result.eqlin.marginals)[:n_balance]
    return RawResult("optimal", result.message, result.x, dual, stage_values[-1], "scipy-highs",
                     scipy.__version__, seconds, stage_values)  # fmt: skip


BACKENDS = {"highspy": solve_highspy, "scipy": solve_scipy}
