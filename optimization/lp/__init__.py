"""The dispatch linear programme, free of Django: the pure numeric core.

Each module imports only those below it, from the bottom up:
problem (types, default penalties) <- validate (input checks, penalty order) <- matrix
(sparse rows and columns) <- backends (lexicographic solve on highspy or scipy) <-
results (solution read back) and conflicts (which constraints clash) <- stochastic
(demand scenarios) <- solve (solve_dispatch). Code outside imports from here.
"""

from optimization.lp.conflicts import dispatch_conflicts
from optimization.lp.problem import (
    DEFAULT_DUMP_PENALTY,
    DEFAULT_POLICY_SHORTFALL_PENALTY,
    DEFAULT_RESERVE_SHORTFALL_PENALTY,
    DEFAULT_TERMINAL_SOC_PENALTY,
    DEFAULT_VOLL,
    DispatchProblem,
    DispatchSolution,
    Policy,
    Shortfall,
    SourceSpec,
    StorageSpec,
)
from optimization.lp.solve import solve_dispatch
from optimization.lp.validate import penalty_order_validate, problem_validate, ramp_conflict

__all__ = [
    "DEFAULT_DUMP_PENALTY",
    "DEFAULT_POLICY_SHORTFALL_PENALTY",
    "DEFAULT_RESERVE_SHORTFALL_PENALTY",
    "DEFAULT_TERMINAL_SOC_PENALTY",
    "DEFAULT_VOLL",
    "DispatchProblem",
    "DispatchSolution",
    "Policy",
    "Shortfall",
    "SourceSpec",
    "StorageSpec",
    "dispatch_conflicts",
    "penalty_order_validate",
    "problem_validate",
    "ramp_conflict",
    "solve_dispatch",
]
