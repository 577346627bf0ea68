"""Invariants of the dispatch LP on real Victorian demand with the demo fleet."""

from __future__ import annotations

import dataclasses
from itertools import pairwise

import numpy as np
import pytest

from optimization.lp import (
    DispatchProblem,
    Policy,
    SourceSpec,
    StorageSpec,
    solve_dispatch,
)
from tests.optimization.helpers import demo_problem, local_day, merit_order_objective
from tests.optimization.lp_strategies import assert_invariants as assert_lp_invariants
from tests.optimization.lp_strategies import simultaneous_flow

# A summer heatwave peak, a mild autumn Saturday, a winter weekday.
DAYS = ["2014-01-16", "2014-03-15", "2014-07-08"]


def assert_invariants(problem: DispatchProblem, solution) -> None:
    """The property tests' invariants, plus: these fleets never charge while discharging."""
    assert_lp_invariants(problem, solution)
    tol = 1e-6 * float(problem.demand_mw.max())
    assert simultaneous_flow(problem, solution) <= tol, "charges and discharges at once"


@pytest.mark.parametrize("day", DAYS)
def test_demo_fleet_invariants_on_real_days(victoria, day):
    problem = demo_problem(local_day(victoria, day))
    solution = solve_dispatch(problem)
    assert solution.status == "optimal"
    assert len(solution.shed) == 48
    assert_invariants(problem, solution)
    assert solution.solver == "highs" and solution.solver_version
    # Renewables first: zero-cost wind and solar are only spilled when coal is at its floor.
    assert solution.price is not None and solution.price.shape == (48,)


@pytest.mark.parametrize("day, intervals", [("2014-04-06", 50), ("2014-10-05", 46)])
def test_dst_days_have_their_own_interval_count(victoria, day, intervals):
    problem = demo_problem(local_day(victoria, day))
    assert problem.intervals == intervals
    solution = solve_dispatch(problem)
    assert solution.status == "optimal"
    assert len(solution.power["Brown coal"]) == intervals
    assert_invariants(problem, solution)


@pytest.mark.parametrize("day", DAYS)
@pytest.mark.parametrize("co2_price", [0.0, 60.0])
def test_without_storage_ramps_or_must_run_the_objective_is_the_merit_order(
    victoria, day, co2_price
):
    problem = demo_problem(
        local_day(victoria, day), simple=True, policy=Policy(co2_price=co2_price)
    )
    solution = solve_dispatch(problem)
    assert solution.objective == pytest.approx(merit_order_objective(problem), rel=1e-9)


@pytest.mark.parametrize("day", DAYS)
def test_highspy_and_scipy_agree_on_the_objective(victoria, day):
    problem = demo_problem(local_day(victoria, day))
    by_highspy = solve_dispatch(problem, backend="highspy")
    by_scipy = solve_dispatch(problem, backend="scipy")
    assert by_scipy.solver == "scipy-highs"
    assert by_highspy.objective == pytest.approx(by_scipy.objective, rel=1e-8)
    assert_invariants(problem, by_scipy)


def test_same_input_same_output(victoria):
    problem = demo_problem(local_day(victoria, DAYS[0]))
    first, second = solve_dispatch(problem), solve_dispatch(problem)
    assert first.objective == second.objective
    for name in first.power:
        np.testing.assert_array_equal(first.power[name], second.power[name])


def test_more_demand_never_lowers_cost_more_capacity_never_raises_it(victoria):
    problem = demo_problem(local_day(victoria, DAYS[0]))
    base = solve_dispatch(problem).objective
    more_demand = dataclasses.replace(problem, demand_mw=problem.demand_mw * 1.05)
    assert solve_dispatch(more_demand).objective >= base - 1e-9 * base
    bigger = dataclasses.replace(
        problem,
        sources=[dataclasses.replace(s, capacity_mw=s.capacity_mw * 1.1) for s in problem.sources],
    )
    assert solve_dispatch(bigger).objective <= base + 1e-9 * base


def test_higher_co2_price_never_raises_emissions(victoria):
    problem = demo_problem(local_day(victoria, DAYS[2]))

    def emissions(co2_price: float) -> float:
        solution = solve_dispatch(dataclasses.replace(problem, policy=Policy(co2_price=co2_price)))
        return sum(float(solution.power[s.name].sum()) * s.co2_t_per_mwh for s in problem.sources)

    levels = [emissions(price) for price in (0.0, 50.0, 150.0)]
    assert all(higher <= lower + 1e-6 for lower, higher in pairwise(levels))
    assert levels[2] < levels[0]  # coal (1.2 t) gives way to gas and imports


def test_too_little_capacity_sheds_exactly_the_gap(victoria):
    day = local_day(victoria, DAYS[0])
    problem = demo_problem(day, simple=True)
    small = dataclasses.replace(
        problem,
        sources=[dataclasses.replace(s, capacity_mw=s.capacity_mw * 0.5) for s in problem.sources],
    )
    solution = solve_dispatch(small)
    assert solution.status == "optimal_with_shortfalls"
    available = sum(s.capacity_mw * s.availability for s in small.sources)
    np.testing.assert_allclose(
        solution.shed, np.maximum(small.demand_mw - available, 0), atol=1e-6 * day.demand_mw.max()
    )
    assert "MWh of demand cannot be served" in solution.reason
    assert solution.price.max() == pytest.approx(Policy().voll)


def test_price_is_the_marginal_cost_of_the_marginal_source():
    demand = np.array([50.0, 150.0, 250.0])
    sources = [
        SourceSpec("cheap", "coal", 100, np.ones(3), 20, 1.0, False),
        SourceSpec("dear", "gas", 100, np.ones(3), 70, 0.5, False),
    ]
    solution = solve_dispatch(DispatchProblem(demand, 1.0, sources))
    np.testing.assert_allclose(solution.price, [20, 70, Policy().voll])
    np.testing.assert_allclose(solution.shed, [0, 0, 50])


def test_battery_shifts_cheap_energy_to_the_expensive_interval():
    demand = np.array([100.0, 100.0, 200.0, 200.0])
    sources = [
        SourceSpec("cheap", "coal", 150, np.ones(4), 10, 1.0, False),
        SourceSpec("dear", "gas", 200, np.ones(4), 100, 0.5, False),
    ]
    battery = StorageSpec("battery", 100, 50, 0.9, 0.9, 0.0, 0.0, 1.0, 1.0)
    problem = DispatchProblem(demand, 1.0, sources, [battery])
    solution = solve_dispatch(problem)
    assert_invariants(problem, solution)
    assert solution.charge["battery"][:2].sum() > 0
    assert solution.discharge["battery"][2:].sum() > 0
    assert solution.objective < solve_dispatch(dataclasses.replace(problem, storage=[])).objective


def test_ramp_conflict_is_reported_as_infeasible_by_both_backends():
    demand = np.full(4, 100.0)
    stiff = SourceSpec(
        "stiff coal", "coal", 100, np.array([1.0, 1.0, 0.2, 0.2]), 10, 1.0, False,
        must_run_fraction=0.9, ramp_limit_per_hour=0.1,
    )  # fmt: skip
    problem = DispatchProblem(demand, 1.0, [stiff])
    for backend in ("highspy", "scipy"):
        solution = solve_dispatch(problem, backend=backend)
        assert solution.status == "infeasible"
        assert "stiff coal" in solution.reason and "interval 2" in solution.reason
        assert solution.objective is None


@pytest.mark.parametrize(
    "policy, message",
    [
        (Policy(voll=500, dump_penalty=1000), "VoLL"),
        (Policy(dump_penalty=150), "Gas peaker"),
        (Policy(co2_price=3000), "dump penalty"),
    ],
)
def test_wrong_penalty_order_is_refused(victoria, policy, message):
    problem = demo_problem(local_day(victoria, DAYS[0]), policy=policy)
    with pytest.raises(ValueError, match=message):
        solve_dispatch(problem)


def test_malformed_input_is_refused(victoria):
    problem = demo_problem(local_day(victoria, DAYS[0]))
    short = dataclasses.replace(
        problem,
        sources=[dataclasses.replace(problem.sources[0], availability=np.ones(47))],
    )
    with pytest.raises(ValueError, match="47 values for 48 intervals"):
        solve_dispatch(short)
    bad_battery = dataclasses.replace(
        problem, storage=[dataclasses.replace(problem.storage[0], initial_soc=0.05)]
    )
    with pytest.raises(ValueError, match="min_soc <= initial_soc"):
        solve_dispatch(bad_battery)
    with pytest.raises(ValueError, match="non-negative"):
        solve_dispatch(dataclasses.replace(problem, demand_mw=-problem.demand_mw))
    with pytest.raises(ValueError, match="backend"):
        solve_dispatch(problem, backend="cplex")


def test_a_lossy_battery_that_breaks_the_penalty_order_is_named(victoria):
    problem = demo_problem(local_day(victoria, DAYS[0]))
    battery = problem.storage[0]
    lossy = dataclasses.replace(battery, charge_efficiency=0.01, discharge_efficiency=0.01)
    with pytest.raises(ValueError, match=f"through {battery.name}, round trip 0.0001"):
        solve_dispatch(dataclasses.replace(problem, storage=[lossy]))
