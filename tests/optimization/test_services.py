"""dispatch_run_create / dispatch_run_execute on real forecast points and the demo fleet."""

from __future__ import annotations

from collections import defaultdict

import pytest

from errors import Unprocessable
from forecasts.models import Forecast, ForecastRun
from jobs.models import Job
from optimization.fleet import demo_fleet_create
from optimization.models import DispatchRun, EnergyMix, GenerationSource, StorageUnit
from optimization.services import dispatch_run_create, dispatch_run_execute
from optimization.tasks import optimize_dispatch
from tests.optimization.helpers import local_day


def forecast_run_for_day(city, victoria, day: str) -> ForecastRun:
    """A forecast run whose median is the real demand of one local day."""
    frame = local_day(victoria, day)
    run = ForecastRun.objects.create(
        city=city, method="test", start=frame.index[0], horizon_hours=len(frame) // 2,
        quantiles=[0.05, 0.5, 0.95],
    )  # fmt: skip
    Forecast.objects.bulk_create(
        Forecast(
            run=run,
            city=city,
            timestamp=ts,
            demand=demand,
            confidence_lower=demand * 0.95,
            confidence_upper=demand * 1.05,
        )
        for ts, demand in frame["demand_mw"].items()
    )
    return run


@pytest.fixture
def fleet_city(city):
    demo_fleet_create(city)
    return city


def test_demo_fleet_is_idempotent_and_covers_the_peak(city, victoria):
    demo_fleet_create(city)
    demo_fleet_create(city)
    assert GenerationSource.objects.filter(city=city).count() == 7
    assert StorageUnit.objects.filter(city=city).count() == 1
    firm = sum(
        s.capacity_mw * s.availability
        for s in GenerationSource.objects.filter(city=city, kind__in=["coal", "gas", "hydro",
                                                                     "imports"])
    )  # fmt: skip
    assert firm >= victoria["demand_mw"].max()


@pytest.mark.parametrize("day, intervals", [("2014-01-16", 48), ("2014-04-06", 50)])
def test_execute_writes_mix_rows_and_totals_that_match(fleet_city, victoria, day, intervals):
    forecast_run = forecast_run_for_day(fleet_city, victoria, day)
    dispatch_run = DispatchRun.objects.create(forecast_run=forecast_run)
    dispatch_run_execute(dispatch_run)
    dispatch_run.refresh_from_db()

    assert dispatch_run.status == DispatchRun.Status.OPTIMAL
    assert dispatch_run.solver == "highs" and dispatch_run.solve_seconds > 0
    mix = list(EnergyMix.objects.filter(dispatch_run=dispatch_run).select_related("source"))
    assert len(mix) == intervals * (7 + 1)  # no unserved rows: the fleet covers the day
    demand = dict(forecast_run.points.values_list("timestamp", "demand"))
    supplied = defaultdict(float)
    for row in mix:
        supplied[row.timestamp] += row.allocation
    assert set(supplied) == set(demand)
    for ts, mw in supplied.items():
        assert mw == pytest.approx(demand[ts], abs=1e-6 * max(demand.values()))

    assert dispatch_run.demand_mwh == pytest.approx(0.5 * sum(demand.values()))
    assert dispatch_run.total_cost == pytest.approx(sum(row.cost for row in mix))
    assert dispatch_run.total_co2_t == pytest.approx(sum(row.co2_t for row in mix))
    non_renewable_mwh = 0.5 * sum(
        row.allocation for row in mix if row.source is not None and not row.source.renewable
    )
    served = dispatch_run.demand_mwh - dispatch_run.unserved_mwh
    assert dispatch_run.renewable_share == pytest.approx(1 - non_renewable_mwh / served)
    assert 0 < dispatch_run.renewable_share < 1
    assert dispatch_run.curtailment_mwh == pytest.approx(
        0.5 * sum(row.curtailed_mw for row in mix if row.curtailed_mw is not None)
    )
    assert dispatch_run.unserved_mwh == 0
    assert len(dispatch_run.interval_prices) == intervals


def test_rerun_replaces_rows_and_shortfalls_get_unserved_rows(fleet_city, victoria):
    forecast_run = forecast_run_for_day(fleet_city, victoria, "2014-01-16")
    dispatch_run = DispatchRun.objects.create(forecast_run=forecast_run)
    dispatch_run_execute(dispatch_run)
    first_count = EnergyMix.objects.filter(dispatch_run=dispatch_run).count()
    # Half the fleet: the heatwave peak can no longer be met.
    for source in GenerationSource.objects.filter(city=fleet_city):
        source.capacity_mw /= 2
        source.save()
    dispatch_run_execute(dispatch_run)
    dispatch_run.refresh_from_db()
    assert dispatch_run.status == DispatchRun.Status.OPTIMAL_WITH_SHORTFALLS
    unserved = EnergyMix.objects.filter(dispatch_run=dispatch_run, source_name="unserved")
    assert unserved.exists()
    assert EnergyMix.objects.filter(dispatch_run=dispatch_run).count() == (
        first_count + unserved.count()
    )
    assert dispatch_run.unserved_mwh == pytest.approx(
        0.5 * sum(unserved.values_list("allocation", flat=True))
    )


def test_infeasible_input_is_refused_up_front_and_a_run_fails_with_a_clear_reason(
    fleet_city, owner, victoria
):
    coal = GenerationSource.objects.get(city=fleet_city, name="Brown coal")
    coal.ramp_limit = 0.01  # cannot follow a 0.92 -> 0.3 availability step
    coal.availability_profile = [0.92] * 12 + [0.3] * 12
    coal.save()
    forecast_run = forecast_run_for_day(fleet_city, victoria, "2014-03-15")
    with pytest.raises(Unprocessable) as refused:  # the API's 422
        dispatch_run_create(forecast_run=forecast_run, user=owner)
    assert refused.value.code == "infeasible"
    constraints = refused.value.details["constraints"]
    assert any(name.startswith("ramp limit of Brown coal") for name in constraints)
    assert any(name.startswith("must-run of Brown coal") for name in constraints)
    assert not Job.objects.exists() and not DispatchRun.objects.exists()

    # A run that became infeasible after it was accepted (the fleet changed) fails
    # its job with the same names and leaves no energy-mix rows.
    dispatch_run = DispatchRun.objects.create(forecast_run=forecast_run, mode="reserve")
    with pytest.raises(Unprocessable) as failed:
        dispatch_run_execute(dispatch_run)
    assert failed.value.code == "infeasible"
    assert "Brown coal" in failed.value.message
    dispatch_run.refresh_from_db()
    assert dispatch_run.status == DispatchRun.Status.INFEASIBLE
    assert "ramp limit of Brown coal" in dispatch_run.status_reason
    assert any("Brown coal" in name for name in dispatch_run.conflicts)
    assert not EnergyMix.objects.filter(dispatch_run=dispatch_run).exists()


def test_task_runs_the_job_and_a_repeat_returns_the_same_job(
    fleet_city, owner, victoria, django_capture_on_commit_callbacks
):
    forecast_run = forecast_run_for_day(fleet_city, victoria, "2014-07-08")
    with django_capture_on_commit_callbacks(execute=False):
        dispatch_run, job = dispatch_run_create(forecast_run=forecast_run, user=owner)
        again_run, again_job = dispatch_run_create(forecast_run=forecast_run, user=owner)
    assert (again_run.pk, again_job.pk) == (dispatch_run.pk, job.pk)
    # The forecast has q05 and q95: reserve mode is the default.
    assert job.kind == Job.Kind.OPTIMIZE and job.params["mode"] == "reserve"
    optimize_dispatch.apply(args=[str(job.pk), dispatch_run.pk])
    job.refresh_from_db()
    assert job.state == Job.State.SUCCEEDED
    assert job.result == {"dispatch": dispatch_run.pk}
    dispatch_run.refresh_from_db()
    assert dispatch_run.status == DispatchRun.Status.OPTIMAL
    # Changing the fleet makes the same request a new dispatch.
    GenerationSource.objects.filter(city=fleet_city, name="Wind").update(capacity_mw=3000)
    with django_capture_on_commit_callbacks(execute=False):
        _, new_job = dispatch_run_create(forecast_run=forecast_run, user=owner)
    assert new_job.pk != job.pk
