"""Hypothesis strategies for small dispatch problems, and the invariant checker."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from optimization.lp import DispatchProblem, DispatchSolution, Policy, SourceSpec, StorageSpec

KINDS = ("coal", "gas", "hydro", "solar", "wind", "imports")


@st.composite
def sources(draw, n_t: int, *, plain: bool = False, non_negative: bool = False):
    """1-4 sources; ``plain`` leaves out must-run, ramps and budgets."""
    count = draw(st.integers(1, 4))
    specs = []
    for g in range(count):
        kind = draw(st.sampled_from(KINDS))
        availability = np.array(
            draw(st.lists(st.floats(0, 1), min_size=n_t, max_size=n_t)), dtype=float
        )
        low_cost = 0.0 if non_negative else -50.0
        specs.append(
            SourceSpec(
                name=f"{kind}-{g}",
                kind=kind,
                capacity_mw=draw(st.floats(0, 300)),
                availability=availability,
                marginal_cost=draw(st.floats(low_cost, 200)),
                co2_t_per_mwh=draw(st.sampled_from([0.0, 0.4, 0.8, 1.2])),
                renewable=kind in ("hydro", "solar", "wind"),
                must_run_fraction=0.0 if plain else draw(st.sampled_from([0.0, 0.0, 0.2, 0.5])),
                ramp_limit_per_hour=None if plain else draw(st.sampled_from([None, 0.3, 1.0])),
                daily_budget_mwh=None if plain else draw(st.sampled_from([None, 500.0, 2000.0])),
                reserve_fraction=draw(st.sampled_from([0.0, 0.5, 1.0])),
            )
        )
    return specs


@st.composite
def storage_units(draw, *, terminal: bool = True):
    count = draw(st.integers(0, 2))
    units = []
    for b in range(count):
        low, high = draw(st.sampled_from([(0.0, 1.0), (0.1, 0.9)]))
        initial = draw(st.floats(low, high))
        units.append(
            StorageSpec(
                name=f"battery-{b}",
                energy_mwh=draw(st.floats(0, 400)),
                power_mw=draw(st.floats(0, 150)),
                charge_efficiency=draw(st.floats(0.8, 1.0)),
                discharge_efficiency=draw(st.floats(0.8, 1.0)),
                initial_soc=initial,
                min_soc=low,
                max_soc=high,
                cycle_cost=draw(st.floats(0, 20)),
                terminal_soc=draw(st.sampled_from([None, initial])) if terminal else None,
            )
        )
    return units


@st.composite
def problems(
    draw,
    *,
    plain: bool = False,
    with_storage: bool = True,
    with_policy: bool = True,
    with_reserve: bool | None = None,
    non_negative: bool = False,
):
    n_t = draw(st.integers(2, 10))
    dt = draw(st.sampled_from([0.5, 1.0]))
    demand = np.array(draw(st.lists(st.floats(0, 600), min_size=n_t, max_size=n_t)))
    reserve = None
    if with_reserve is None:
        with_reserve = draw(st.booleans())
    if with_reserve:
        reserve = demand * draw(st.floats(0, 0.2))
    policy = Policy(co2_price=draw(st.sampled_from([0.0, 30.0, 120.0])))
    if with_policy:
        policy.min_renewable_share = draw(st.sampled_from([None, 0.3, 0.8]))
        policy.co2_cap = draw(st.sampled_from([None, 50.0, 500.0]))
    return DispatchProblem(
        demand_mw=demand,
        dt_hours=dt,
        sources=draw(sources(n_t, plain=plain, non_negative=non_negative)),
        storage=draw(storage_units()) if with_storage else [],
        policy=policy,
        reserve_mw=reserve,
    )


def assert_invariants(problem: DispatchProblem, solution: DispatchSolution) -> None:
    """Every invariant that one solution must satisfy (docs/dispatch.md, What the tests
    must check)."""
    peak = max(float(np.max(problem.demand_mw)), 1.0)
    tol = 1e-6 * peak
    dt = problem.dt_hours
    supply = sum(solution.power[s.name] for s in problem.sources)
    supply = supply + sum(
        solution.discharge[b.name] - solution.charge[b.name] for b in problem.storage
    )
    np.testing.assert_allclose(
        supply + solution.shed - solution.dump, problem.demand_mw, rtol=0, atol=tol
    )
    assert np.all(solution.shed <= problem.demand_mw + tol)
    if not problem.policy.allow_dump:
        assert solution.dump.max() <= tol
    days, share = problem.budget_days()
    for s in problem.sources:
        cap = s.capacity_mw * np.asarray(s.availability, dtype=float)
        p, r = solution.power[s.name], solution.reserve[s.name]
        assert np.all(p >= s.must_run_fraction * cap - tol), s.name
        assert np.all(p + r <= cap + tol), s.name  # 0 <= p <= cap * a, reserve inside
        assert np.all(r >= -tol)
        if s.is_variable:
            assert r.max(initial=0) <= tol, f"{s.name} is weather-driven yet holds reserve"
        if s.ramp_limit_per_hour is not None:
            step = s.ramp_limit_per_hour * s.capacity_mw * dt
            assert np.all(np.abs(np.diff(p)) <= step + tol), s.name
        if s.daily_budget_mwh is not None:
            used = np.bincount(days, weights=p * dt)
            assert np.all(used <= s.daily_budget_mwh * share[: len(used)] + tol * dt), s.name
        if s.renewable and s.is_variable:
            np.testing.assert_allclose(solution.curtailment[s.name], cap - p, atol=tol)
    for b in problem.storage:
        charge, discharge, soc = (
            solution.charge[b.name], solution.discharge[b.name], solution.soc[b.name],
        )  # fmt: skip
        expected = b.initial_soc * b.energy_mwh + np.cumsum(
            b.charge_efficiency * dt * charge - dt / b.discharge_efficiency * discharge
        )
        np.testing.assert_allclose(soc, expected, rtol=0, atol=tol)
        assert soc.min() >= b.min_soc * b.energy_mwh - tol
        assert soc.max() <= b.max_soc * b.energy_mwh + tol
        assert np.all(charge <= b.power_mw + tol) and np.all(discharge <= b.power_mw + tol)
        rb = solution.reserve[b.name]
        assert np.all(discharge + rb <= b.power_mw + tol)
        assert np.all(rb * dt / b.discharge_efficiency <= soc - b.min_soc * b.energy_mwh + tol)
    if problem.reserve_mw is not None:
        held = sum(solution.reserve[name] for name in solution.reserve)
        assert np.all(held + solution.reserve_shortfall >= problem.reserve_mw - tol)
    # Reported KPIs are what the allocations imply.
    kpis = solution.kpis
    co2 = sum(float(solution.power[s.name].sum()) * dt * s.co2_t_per_mwh for s in problem.sources)
    assert kpis["co2_t"] == np.float64(co2) or abs(kpis["co2_t"] - co2) <= 1e-9 * max(co2, 1)
    served = float(np.sum(problem.demand_mw) * dt - solution.shed.sum() * dt)
    non_renewable = sum(
        float(solution.power[s.name].sum()) * dt for s in problem.sources if not s.renewable
    )
    if served > tol:
        share_expected = min(max(1 - non_renewable / served, 0.0), 1.0)
        assert abs(kpis["renewable_share"] - share_expected) <= 1e-9
    assert abs(kpis["unserved_mwh"] - float(solution.shed.sum() * dt)) <= 1e-9 * peak


def simultaneous_flow(problem: DispatchProblem, solution: DispatchSolution) -> float:
    """The largest MW a unit charges and discharges in one interval."""
    return max(
        (float(np.minimum(solution.charge[b.name], solution.discharge[b.name]).max())
         for b in problem.storage),
        default=0.0,
    )  # fmt: skip
