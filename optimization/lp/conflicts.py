"""Which constraints of the dispatch LP cannot hold together.

Below both entry points: solve.py names the conflicts of an infeasible solve with
conflict_names, and stochastic.py runs dispatch_conflicts on each scenario to find the
one that clashes. Callers use dispatch_conflicts as a quick check before a dispatch is
accepted.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from optimization.lp.backends import RawResult, solve_highspy
from optimization.lp.matrix import LpLayout, LpMatrices, lp_matrices_build
from optimization.lp.problem import DispatchProblem
from optimization.lp.validate import problem_validate, ramp_conflict


def conflict_names(matrices: LpMatrices, raw: RawResult) -> list[str]:
    """The rows and bounds of the solver's infeasible subsystem by name, each once."""
    return list(dict.fromkeys(matrices.names.describe(item) for item in raw.conflicts))


def dispatch_conflicts(problem: DispatchProblem) -> list[str]:
    """Names of constraints that cannot hold together ([] if the problem is feasible).

    A quick check before a dispatch is accepted: the hard constraints alone, with no
    objective (ValueError for input the LP must not take).
    """
    problem_validate(problem)
    layout = LpLayout(problem)
    matrices = lp_matrices_build(problem, layout)
    raw = solve_highspy(replace(matrices, stages=[], cost=np.zeros_like(matrices.cost)))
    if raw.status != "infeasible":
        return []
    conflicts = conflict_names(matrices, raw)
    return conflicts or [ramp_conflict(problem) or "the fleet's hard constraints"]
