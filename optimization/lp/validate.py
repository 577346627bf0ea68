"""What the dispatch LP refuses to take, and the order its penalties must keep."""

from __future__ import annotations

import numpy as np

from optimization.lp.problem import DispatchProblem, Policy, SourceSpec, StorageSpec


def source_cost(source: SourceSpec, policy: Policy) -> float:
    """Cost per MWh of a source's output, CO2 priced in."""
    return source.marginal_cost + policy.co2_price * source.co2_t_per_mwh


def problem_validate(problem: DispatchProblem) -> None:
    """Raise ValueError with a clear message for anything the LP cannot take."""
    demand = np.asarray(problem.demand_mw, dtype=float)
    if demand.ndim != 1 or len(demand) == 0:
        raise ValueError("demand_mw must be a non-empty 1-D array.")
    if not np.all(np.isfinite(demand)) or np.any(demand < 0):
        raise ValueError("demand_mw must be finite and non-negative in every interval.")
    if not (np.isfinite(problem.dt_hours) and problem.dt_hours > 0):
        raise ValueError("dt_hours must be positive.")
    if problem.reserve_mw is not None:
        reserve = np.asarray(problem.reserve_mw, dtype=float)
        if reserve.shape != demand.shape or not np.all(np.isfinite(reserve)) or reserve.min() < 0:
            raise ValueError("reserve_mw must be finite, non-negative and one per interval.")
    if problem.scenarios is not None:
        _scenarios_validate(problem, demand.shape)
    names = [s.name for s in problem.sources] + [b.name for b in problem.storage]
    if len(set(names)) != len(names):
        raise ValueError("Source and storage names must be unique.")
    for s in problem.sources:
        _source_validate(s, demand.shape)
    for b in problem.storage:
        _storage_validate(b)
    policy = problem.policy
    if policy.min_renewable_share is not None and not 0 <= policy.min_renewable_share <= 1:
        raise ValueError("min_renewable_share must lie in [0, 1].")
    if policy.co2_cap is not None and not (np.isfinite(policy.co2_cap) and policy.co2_cap >= 0):
        raise ValueError("co2_cap must be finite and >= 0.")
    days, share = problem.budget_days()
    if len(days) != len(demand) or (len(share) and (share.min() < 0 or share.max() > 1.5)):
        raise ValueError("day_of_interval / day_share do not describe the intervals.")
    penalty_order_validate(problem.sources, problem.storage, policy, reserve=problem.has_reserve)


def _scenarios_validate(problem: DispatchProblem, shape) -> None:
    if problem.reserve_mw is not None:
        raise ValueError("Stochastic mode plans for demand scenarios, not for a reserve.")
    if not problem.scenarios:
        raise ValueError("Stochastic mode needs at least one demand scenario.")
    probabilities = np.array([p for _, p, _ in problem.scenarios], dtype=float)
    if np.any(probabilities <= 0) or abs(probabilities.sum() - 1) > 1e-9:
        raise ValueError("Scenario probabilities must be positive and sum to 1.")
    for label, _, demand in problem.scenarios:
        demand = np.asarray(demand, dtype=float)
        if demand.shape != shape or not np.all(np.isfinite(demand)) or demand.min() < 0:
            raise ValueError(f"Scenario {label}: demand must be finite, >= 0, one per interval.")


def _source_validate(s: SourceSpec, shape) -> None:
    availability = np.asarray(s.availability, dtype=float)
    if availability.shape != shape:
        raise ValueError(
            f"{s.name}: availability has {availability.size} values for {shape[0]} intervals."
        )
    if not np.all(np.isfinite(availability)) or availability.min() < 0 or availability.max() > 1:
        raise ValueError(f"{s.name}: availability must lie in [0, 1].")
    if not (np.isfinite(s.capacity_mw) and s.capacity_mw >= 0):
        raise ValueError(f"{s.name}: capacity_mw must be >= 0.")
    if not 0 <= s.must_run_fraction <= 1:
        raise ValueError(f"{s.name}: must_run_fraction must lie in [0, 1].")
    if s.ramp_limit_per_hour is not None and not s.ramp_limit_per_hour >= 0:
        raise ValueError(f"{s.name}: ramp_limit_per_hour must be >= 0.")
    if s.daily_budget_mwh is not None and not s.daily_budget_mwh >= 0:
        raise ValueError(f"{s.name}: daily_budget_mwh must be >= 0.")
    if not 0 <= s.reserve_fraction <= 1 or not s.reserve_cost >= 0:
        raise ValueError(f"{s.name}: reserve_fraction in [0, 1] and reserve_cost >= 0.")
    if not (np.isfinite(s.marginal_cost) and s.co2_t_per_mwh >= 0):
        raise ValueError(f"{s.name}: marginal_cost must be finite and co2_t_per_mwh >= 0.")


def _storage_validate(b: StorageSpec) -> None:
    if not (b.energy_mwh >= 0 and b.power_mw >= 0 and b.cycle_cost >= 0):
        raise ValueError(f"{b.name}: energy, power and cycle cost must be >= 0.")
    if not (0 < b.charge_efficiency <= 1 and 0 < b.discharge_efficiency <= 1):
        raise ValueError(f"{b.name}: efficiencies must lie in (0, 1].")
    if not 0 <= b.min_soc <= b.initial_soc <= b.max_soc <= 1:
        raise ValueError(f"{b.name}: need 0 <= min_soc <= initial_soc <= max_soc <= 1.")
    if b.terminal_soc is not None and not b.min_soc <= b.terminal_soc <= b.max_soc:
        raise ValueError(f"{b.name}: need min_soc <= terminal_soc <= max_soc.")


def penalty_levels(
    storage: list[StorageSpec], policy: Policy, *, reserve: bool = True
) -> list[tuple[str, float]]:
    """The penalties that can act on this problem, in the order they must keep."""
    levels = [("VoLL", policy.voll)]
    if reserve:
        levels.append(("reserve shortfall penalty", policy.reserve_shortfall_penalty))
    if policy.allow_dump:
        levels.append(("dump penalty", policy.dump_penalty))
    if policy.min_renewable_share is not None:
        levels.append(("renewable shortfall penalty", policy.renewable_shortfall_penalty))
    if policy.co2_cap is not None:
        levels.append(("CO2 shortfall penalty", policy.co2_shortfall_penalty))
    if any(b.terminal_soc is not None for b in storage):
        levels.append(("terminal SoC penalty", policy.terminal_soc_penalty))
    return levels


def penalty_order_validate(
    sources: list[SourceSpec],
    storage: list[StorageSpec],
    policy: Policy,
    *,
    reserve: bool = True,
) -> None:
    """VoLL > reserve shortfall > dump > policy shortfalls > terminal SoC > real costs.

    Otherwise the LP would rather shed load than dump surplus, miss the reserve to meet
    a policy target, or rather pay a penalty than run a real source: a plan nobody asked
    for. Only the penalties that can act on the problem are compared.
    """
    levels = penalty_levels(storage, policy, reserve=reserve)
    pairs = [(a, b) for i, a in enumerate(levels) for b in levels[i + 1 :]]
    for (upper_name, upper), (lower_name, lower) in pairs:
        if policy_peers(upper_name, lower_name):
            continue
        if not upper > lower:
            raise ValueError(
                f"Penalty order: the {upper_name} ({upper:g}) must exceed the "
                f"{lower_name} ({lower:g})."
            )
    lowest_name, lowest = min(levels, key=lambda level: level[1])
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
        effective = max(effective, s.reserve_cost)
        if not lowest > effective:
            raise ValueError(
                f"Penalty order: the {lowest_name} ({lowest:g}) must exceed "
                f"{s.name}'s cost per MWh divided by the round-trip efficiency plus the "
                f"cycle cost{via}: {effective:.4g}."
            )


def policy_peers(first: str, second: str) -> bool:
    """The renewable and CO2 shortfall penalties sit on one level (either may be larger)."""
    peers = {"renewable shortfall penalty", "CO2 shortfall penalty"}
    return first in peers and second in peers


def ramp_conflict(problem: DispatchProblem) -> str:
    """Name a source whose ramp limit cannot follow its own bounds ("" if none)."""
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
