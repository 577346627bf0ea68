"""The two solver backends: HiGHS through highspy, and scipy's linprog(method="highs")."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from optimization.lp_matrix import LpMatrices


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


def solve_highspy(m: LpMatrices, n_balance: int) -> RawResult:
    import highspy

    csc = m.a.tocsc()
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = csc.shape[1], csc.shape[0]
    lp.col_cost_, lp.col_lower_, lp.col_upper_ = m.cost, m.col_lower, m.col_upper
    lp.row_lower_, lp.row_upper_ = m.row_lower, m.row_upper
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = csc.shape[1], csc.shape[0]
    lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = (
        csc.indptr,
        csc.indices,
        csc.data,
    )
    highs = highspy.Highs()
    highs.setOptionValue("output_flag", False)
    highs.passModel(lp)
    started = time.perf_counter()
    highs.run()
    seconds = time.perf_counter() - started
    model_status = highs.getModelStatus()
    message = highs.modelStatusToString(model_status)
    statuses = {
        highspy.HighsModelStatus.kOptimal: "optimal",
        highspy.HighsModelStatus.kInfeasible: "infeasible",
        highspy.HighsModelStatus.kTimeLimit: "time_limit",
    }
    status = statuses.get(model_status, "error")
    x = dual = objective = None
    if status == "optimal":
        solution = highs.getSolution()
        x = np.asarray(solution.col_value)
        if solution.dual_valid:
            dual = np.asarray(solution.row_dual)[:n_balance]
        objective = highs.getInfo().objective_function_value
    return RawResult(status, message, x, dual, objective, "highs", highs.version(), seconds)


def solve_scipy(m: LpMatrices, n_balance: int) -> RawResult:
    import scipy
    from scipy.optimize import linprog

    equal = m.row_lower == m.row_upper
    has_upper = ~equal & np.isfinite(m.row_upper)
    has_lower = ~equal & np.isfinite(m.row_lower)
    a_ub = sp.vstack([m.a[has_upper], -m.a[has_lower]], format="csr")
    b_ub = np.concatenate([m.row_upper[has_upper], -m.row_lower[has_lower]])
    started = time.perf_counter()
    result = linprog(
        m.cost,
        A_ub=a_ub if a_ub.shape[0] else None,
        b_ub=b_ub if a_ub.shape[0] else None,
        A_eq=m.a[equal],
        b_eq=m.row_lower[equal],
        bounds=np.column_stack([m.col_lower, m.col_upper]),
        method="highs",
    )
    seconds = time.perf_counter() - started
    status = {0: "optimal", 1: "time_limit", 2: "infeasible"}.get(result.status, "error")
    x = dual = objective = None
    if status == "optimal":
        x, objective = result.x, float(result.fun)
        # The balance rows come first among the equalities, in order.
        dual = np.asarray(result.eqlin.marginals)[:n_balance]
    return RawResult(
        status, result.message, x, dual, objective, "scipy-highs", scipy.__version__, seconds
    )


BACKENDS = {"highspy": solve_highspy, "scipy": solve_scipy}
