"""Solve a dispatch problem: the top of optimization.lp.

solve_dispatch checks the input (validate.py), hands a problem with demand scenarios to
stochastic.py, builds the sparse matrices (matrix.py), solves them lexicographically on
the chosen backend (backends.py) and reads the result back into a DispatchSolution
(results.py); an infeasible solve names its conflicting constraints (conflicts.py).
"""

from __future__ import annotations

from optimization.lp.backends import BACKENDS
from optimization.lp.conflicts import conflict_names
from optimization.lp.matrix import LpLayout, lp_matrices_build
from optimization.lp.problem import DispatchProblem, DispatchSolution
from optimization.lp.results import solution_from_raw
from optimization.lp.stochastic import solve_stochastic
from optimization.lp.validate import problem_validate, ramp_conflict


def solve_dispatch(problem: DispatchProblem, backend: str = "highspy") -> DispatchSolution:
    """Solve the dispatch; ValueError for input the LP must not take."""
    if backend not in BACKENDS:
        raise ValueError(f"Unknown backend {backend!r}; use one of {sorted(BACKENDS)}.")
    problem_validate(problem)
    if problem.scenarios:
        return solve_stochastic(problem, backend)
    layout = LpLayout(problem)
    matrices = lp_matrices_build(problem, layout)
    raw = BACKENDS[backend](matrices)
    meta = {"solver": raw.solver, "solver_version": raw.version, "solve_seconds": raw.seconds}
    if raw.status != "optimal":
        conflicts = conflict_names(matrices, raw)
        reason = ramp_conflict(problem) if raw.status == "infeasible" else ""
        if not reason and conflicts:
            reason = "conflicting constraints: " + ", ".join(conflicts[:12])
        reason = reason or f"{raw.solver} reported: {raw.message}"
        status = raw.status if raw.status in ("infeasible", "time_limit") else "infeasible"
        return DispatchSolution(status=status, reason=reason, conflicts=conflicts, **meta)
    return solution_from_raw(problem, layout, matrices, raw, meta)
