"""Property tests (hypothesis) on random problems for the invariants of docs/dispatch.md,
What the tests must check."""

from __future__ import annotations

import dataclasses
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from optimization.lp import DispatchProblem, Policy, SourceSpec, solve_dispatch
from tests.optimization.helpers import merit_order_objective
from tests.optimization.lp_strategies import assert_invariants, problems, simultaneous_flow

# Derandomized and without an example database: every run checks the same examples.
EXAMPLES = int(os.environ.get("DISPATCH_PROPERTY_EXAMPLES", "30"))
FAST = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
    database=None,
)


def objective_close(first: float, second: float) -> bool:
    return abs(first - second) <= 1e-7 * max(abs(first), abs(second), 10.0)


@FAST
@given(problems())
def test_every_solution_keeps_every_invariant_and_both_backends_agree(problem):
    by_highspy = solve_dispatch(problem)
    by_scipy = solve_dispatch(problem, backend="scipy")
    assert by_highspy.is_feasible == by_scipy.is_feasible
    assume(by_highspy.is_feasible)
    assert_invariants(problem, by_highspy)
    assert_invariants(problem, by_scipy)
    assert objective_close(by_highspy.objective, by_scipy.objective)
    # Same input, same output.
    again = solve_dispatch(problem)
    assert again.objective == by_highspy.objective
    for name, series in by_highspy.power.items():
        np.testing.assert_array_equal(again.power[name], series)


@FAST
@given(problems(with_policy=False, non_negative=True))
def test_no_simultaneous_charge_and_discharge_without_forced_surplus(problem):
    """Charging and discharging at once only burns energy; without must-run, ramps (a
    slow ramp-down forces surplus too) or negative prices nothing needs burning, so the
    optimum never does it."""
    problem = dataclasses.replace(
        problem,
        sources=[
            dataclasses.replace(s, must_run_fraction=0.0, ramp_limit_per_hour=None)
            for s in problem.sources
        ],
    )
    solution = solve_dispatch(problem)
    assert solution.is_feasible
    assert simultaneous_flow(problem, solution) <= 1e-6 * max(problem.demand_mw.max(), 1.0)


@FAST
@given(
    problems(plain=True, with_storage=False, with_policy=False, with_reserve=False),
    st.sampled_from([0.0, 30.0, 120.0]),
)
def test_plain_fleet_objective_is_the_greedy_merit_order(problem, co2_price):
    problem = dataclasses.replace(problem, policy=Policy(co2_price=co2_price))
    solution = solve_dispatch(problem)
    assert solution.is_feasible
    assert objective_close(solution.objective, merit_order_objective(problem))


@FAST
@given(problems(with_policy=False, non_negative=True), st.floats(1.0, 1.5))
def test_more_demand_never_lowers_cost(problem, factor):
    """Without forced output (must-run, slow ramp-down) or negative prices, where more
    demand would absorb a surplus that otherwise costs a dump penalty."""
    problem = dataclasses.replace(
        problem,
        sources=[
            dataclasses.replace(s, must_run_fraction=0.0, ramp_limit_per_hour=None)
            for s in problem.sources
        ],
    )
    base = solve_dispatch(problem)
    more = solve_dispatch(dataclasses.replace(problem, demand_mw=problem.demand_mw * factor))
    assume(base.is_feasible and more.is_feasible)
    assert more.objective >= base.objective - 1e-7 * max(abs(base.objective), 1.0)


@FAST
@given(problems(with_policy=False), st.floats(1.0, 2.0))
def test_more_capacity_never_raises_cost(problem, factor):
    bigger = dataclasses.replace(
        problem,
        sources=[dataclasses.replace(s, capacity_mw=s.capacity_mw * factor, must_run_fraction=0)
                 for s in problem.sources],
    )  # fmt: skip
    base = solve_dispatch(
        dataclasses.replace(
            problem,
            sources=[dataclasses.replace(s, must_run_fraction=0) for s in problem.sources],
        )
    )
    assume(base.is_feasible)
    assert solve_dispatch(bigger).objective <= base.objective + 1e-7 * max(abs(base.objective), 1)


@FAST
@given(problems(with_policy=False), st.floats(0, 150), st.floats(0, 150))
def test_higher_co2_price_never_raises_emissions(problem, first, second):
    low, high = sorted((first, second))
    emissions = []
    for price in (low, high):
        solution = solve_dispatch(dataclasses.replace(problem, policy=Policy(co2_price=price)))
        assume(solution.is_feasible)
        emissions.append(solution.kpis["co2_t"])
    assert emissions[1] <= emissions[0] + 1e-6 * max(emissions[0], 1.0)


@FAST
@given(problems(with_policy=False), st.floats(0, 1))
def test_a_renewable_target_never_causes_load_shedding(problem, share):
    """Regression: a hard target sheds load to meet it; ours is soft and lexicographic."""
    without = solve_dispatch(problem)
    with_target = solve_dispatch(
        dataclasses.replace(problem, policy=Policy(min_renewable_share=share))
    )
    assume(without.is_feasible)
    assert with_target.is_feasible
    tol = 1e-6 * max(problem.demand_mw.max(), 1.0) * problem.dt_hours
    assert with_target.kpis["unserved_mwh"] <= without.kpis["unserved_mwh"] + tol
    assert with_target.kpis["reserve_shortfall_mwh"] <= without.kpis["reserve_shortfall_mwh"] + tol
    # The target never lowers the share, and a missed one is reported with its numbers.
    if without.kpis["renewable_share"] is not None:  # None: nothing was served
        assert with_target.kpis["renewable_share"] >= without.kpis["renewable_share"] - 1e-7
    for item in with_target.shortfalls:
        if item.constraint == "min_renewable_share":
            assert item.target == share
            assert item.shortfall == pytest.approx(share - item.achieved, abs=1e-9)


@FAST
@given(problems(with_policy=False), st.floats(0, 2000))
def test_a_co2_cap_never_causes_load_shedding_and_is_met_when_it_can_be(problem, cap):
    without = solve_dispatch(problem)
    capped = solve_dispatch(dataclasses.replace(problem, policy=Policy(co2_cap=cap)))
    assume(without.is_feasible)
    tol = 1e-6 * max(problem.demand_mw.max(), 1.0) * problem.dt_hours
    assert capped.kpis["unserved_mwh"] <= without.kpis["unserved_mwh"] + tol
    assert capped.kpis["co2_t"] <= max(without.kpis["co2_t"], cap) + 1e-6 * max(cap, 1)
    missed = [item for item in capped.shortfalls if item.constraint == "co2_cap"]
    if capped.kpis["co2_t"] > cap + 1e-6 * max(cap, 1):
        assert missed and missed[0].shortfall == pytest.approx(capped.kpis["co2_t"] - cap)


def test_the_lexicographic_solve_reaches_the_most_achievable_share():
    """The case of docs/dispatch.md, Objective and the order of penalties: a 50 % target
    where less is achievable sheds nothing and lands exactly on the maximum share (here
    100 MW of wind out of 250 MW: 40 %)."""
    demand = np.full(4, 250.0)
    fleet = [
        SourceSpec("wind", "wind", 100, np.ones(4), 0, 0.0, True),
        SourceSpec("gas", "gas", 300, np.ones(4), 80, 0.4, False),
    ]
    problem = DispatchProblem(demand, 1.0, fleet, policy=Policy(min_renewable_share=0.5))
    for backend in ("highspy", "scipy"):
        solution = solve_dispatch(problem, backend=backend)
        assert solution.status == "optimal_with_shortfalls"
        assert solution.kpis["unserved_mwh"] == 0
        assert solution.kpis["renewable_share"] == pytest.approx(0.4)
        (missed,) = solution.shortfalls
        assert (missed.constraint, missed.target) == ("min_renewable_share", 0.5)
        assert missed.achieved == pytest.approx(0.4) and missed.shortfall == pytest.approx(0.1)


def test_reserve_is_held_by_dispatchable_units_and_costs_at_most_a_little():
    demand = np.array([200.0, 260.0, 300.0, 240.0])
    fleet = [
        SourceSpec("wind", "wind", 150, np.array([0.9, 0.8, 0.5, 0.2]), 0, 0.0, True),
        SourceSpec("coal", "coal", 250, np.ones(4), 30, 1.0, False),
        SourceSpec("peaker", "gas", 100, np.ones(4), 150, 0.6, False),
    ]
    base = DispatchProblem(demand, 1.0, fleet)
    reserve = dataclasses.replace(base, reserve_mw=np.full(4, 40.0))
    planned = solve_dispatch(reserve)
    assert_invariants(reserve, planned)
    assert planned.status == "optimal"
    assert planned.reserve["wind"].max() == 0
    held = planned.reserve["coal"] + planned.reserve["peaker"]
    assert np.all(held >= 40 - 1e-6)
    assert planned.objective >= solve_dispatch(base).objective
    # Not enough headroom: the missing reserve is a shortfall, not shed load.
    tight = dataclasses.replace(base, reserve_mw=np.full(4, 200.0))
    short = solve_dispatch(tight)
    assert short.kpis["unserved_mwh"] == 0
    (missed,) = short.shortfalls
    assert missed.constraint == "reserve" and missed.shortfall > 0
    assert missed.achieved == pytest.approx(missed.target - missed.shortfall)


def test_infeasible_input_names_the_conflicting_constraints_on_both_backends():
    stiff = SourceSpec("coal", "coal", 100, np.ones(3), 10, 1.0, False, must_run_fraction=0.8)
    problem = DispatchProblem(
        np.array([50.0, 90.0, 90.0]), 1.0, [stiff], policy=Policy(allow_dump=False)
    )
    by_highspy = solve_dispatch(problem)
    assert by_highspy.status == "infeasible" and by_highspy.objective is None
    assert "balance at interval 0" in by_highspy.conflicts
    assert "must-run of coal at interval 0" in by_highspy.conflicts
    assert "no dump allowed at interval 0" in by_highspy.conflicts
    assert solve_dispatch(problem, backend="scipy").status == "infeasible"
    # With dumping allowed the same fleet is feasible: the surplus is dumped at a price.
    allowed = solve_dispatch(dataclasses.replace(problem, policy=Policy()))
    assert allowed.is_feasible and allowed.kpis["dumped_mwh"] == pytest.approx(30.0)


def scenarios_of(problem: DispatchProblem, spread: float) -> DispatchProblem:
    demand = problem.demand_mw
    return dataclasses.replace(
        problem,
        reserve_mw=None,
        scenarios=[
            ("q05", 0.185, demand * (1 - spread)),
            ("q50", 0.63, demand),
            ("q95", 0.185, demand * (1 + spread)),
        ],
    )


@FAST
@given(problems(with_reserve=False), st.floats(0, 0.3))
def test_stochastic_plan_commits_slow_units_once_and_is_worth_its_price(problem, spread):
    """Slow units run the same in every scenario; the plan lies between the wait-and-see
    bound (EVPI >= 0) and committing the slow units to the q50 plan (value of the
    stochastic solution >= 0), both compared lexicographically (unserved, then cost)."""
    stochastic = scenarios_of(problem, spread)
    planned = solve_dispatch(stochastic)
    by_scipy = solve_dispatch(stochastic, backend="scipy")
    assume(planned.is_feasible)
    assert by_scipy.is_feasible and objective_close(planned.objective, by_scipy.objective)
    assert_invariants(problem, planned)  # the stored plan is the q50 scenario's
    for s in problem.sources:
        if s.is_slow:
            for scenario in planned.scenarios[1:]:
                np.testing.assert_allclose(
                    scenario["power"][s.name], planned.scenarios[0]["power"][s.name], atol=1e-6
                )
    wait_and_see, wait_and_see_shed = 0.0, 0.0
    for _, probability, demand in stochastic.scenarios:
        alone = solve_dispatch(dataclasses.replace(problem, demand_mw=demand, reserve_mw=None))
        assume(alone.is_feasible)
        wait_and_see += probability * alone.objective
        wait_and_see_shed += probability * alone.kpis["unserved_mwh"]
    # Lexicographic: expected unserved energy first, then the objective.
    assert no_worse((wait_and_see_shed, wait_and_see), (expected_shed(planned), planned.objective))
    median = solve_dispatch(dataclasses.replace(problem, reserve_mw=None))
    assume(median.is_feasible)
    committed = dataclasses.replace(
        stochastic,
        sources=[
            dataclasses.replace(
                s,
                availability=np.clip(median.power[s.name] / s.capacity_mw, 0, 1),
                must_run_fraction=1.0,
                ramp_limit_per_hour=None,
            )
            if s.is_slow and s.capacity_mw > 0
            else s
            for s in problem.sources
        ],
    )
    fixed = solve_dispatch(committed)
    if fixed.is_feasible:
        assert no_worse((expected_shed(planned), planned.objective),
                        (expected_shed(fixed), fixed.objective))  # fmt: skip


def expected_shed(solution) -> float:
    return sum(item["probability"] * item["unserved_mwh"] for item in solution.scenarios)


def no_worse(first: tuple[float, float], second: tuple[float, float]) -> bool:
    """``first`` is lexicographically no worse than ``second`` (shed, then objective)."""
    shed_tol = 1e-6 * max(first[0], second[0], 1.0)  # the stage hold tolerance
    if first[0] < second[0] - shed_tol:
        return True
    return first[0] <= second[0] + shed_tol and first[1] <= second[1] + 1e-6 * max(
        abs(first[1]), abs(second[1]), 1.0
    )
