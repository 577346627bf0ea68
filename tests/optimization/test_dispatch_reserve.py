"""Reserve-mode dispatch through the API, weather-driven availability, the 422 contract."""

from __future__ import annotations

import numpy as np
import pytest

from cities.models import Observation
from forecasts.models import Forecast
from jobs.models import Job
from optimization.fleet import demo_fleet_create
from optimization.models import DispatchRun, EnergyMix, GenerationSource, StorageUnit
from optimization.tasks import optimize_dispatch
from tests.optimization.helpers import admin_form_with
from tests.optimization.test_api import assert_error, sources_url, storage_url
from tests.optimization.test_services import forecast_run_for_day

TOL = 1e-3  # MW, after a round trip through the database


def with_quantiles(forecast_run, spread: float = 0.06) -> None:
    """Store q05/q50/q95 on every point the way forecasting.forecast_run_store does."""
    points = list(forecast_run.points.all())
    for point in points:
        point.quantiles = {
            "0.05": point.demand * (1 - spread),
            "0.5": point.demand,
            "0.95": point.demand * (1 + spread),
        }
    Forecast.objects.bulk_update(points, ["quantiles"])


def run_dispatch(client, forecast_run, django_capture_on_commit_callbacks, **extra) -> dict:
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(
            "/api/v1/dispatch/", {"forecast_run": forecast_run.pk, **extra}, format="json"
        )
    assert response.status_code == 202, response.content
    job = Job.objects.get(pk=response.json()["job"]["id"])
    dispatch_run = DispatchRun.objects.get(job=job)
    optimize_dispatch.apply(args=[str(job.pk), dispatch_run.pk])
    job.refresh_from_db()
    assert job.state == Job.State.SUCCEEDED, job.error
    return client.get(f"/api/v1/dispatch/{dispatch_run.pk}/").json()


def test_reserve_mode_is_the_default_and_serves_every_output(
    owner_client, city, victoria, django_capture_on_commit_callbacks
):
    demo_fleet_create(city)
    forecast_run = forecast_run_for_day(city, victoria, "2014-01-16")  # heatwave peak
    with_quantiles(forecast_run)
    body = run_dispatch(owner_client, forecast_run, django_capture_on_commit_callbacks)

    assert body["mode"] == "reserve" and body["status"] == "optimal", body["status_reason"]
    assert body["solver"] == "highs" and body["solver_version"]
    assert body["solve_seconds"] > 0 and body["build_seconds"] > 0
    kpis, totals = body["kpis"], body["totals"]
    assert totals["reserve_shortfall_mwh"] == pytest.approx(0, abs=1e-6)
    assert kpis["reserve_required_mwh"] == pytest.approx(0.06 * totals["demand_mwh"], rel=1e-6)
    assert kpis["cost"] == pytest.approx(totals["cost"]) and body["shortfalls"] == []
    assert len(kpis["stage_objectives"]) == 2  # security, then cost (no policy target)
    assert body["availability_basis"] == {
        "Solar (rooftop + utility)": "pv_clear_sky",  # no irradiance rows for the day
        "Wind": "profile",  # no wind rows: the stored profile
        "Hydro": "constant", "Brown coal": "constant", "Gas CCGT": "constant",
        "Imports": "constant", "Gas peaker": "constant",
    }  # fmt: skip

    sources = set(GenerationSource.objects.filter(city=city).values_list("name", flat=True))
    hydro_mwh = 0.0
    assert len(body["intervals"]) == 48
    for interval in body["intervals"]:
        assert set(interval["sources"]) == sources == set(interval["allocation"])
        required = interval["reserve_required"]
        assert required == pytest.approx(0.06 * interval["demand"], rel=1e-9)
        held = sum(s["reserve"] for s in interval["sources"].values())
        held += sum(b["reserve"] for b in interval["storage"].values())
        assert held + interval["reserve_shortfall"] >= required - TOL
        for detail in interval["sources"].values():
            assert set(detail) == {"power", "available", "curtailed", "reserve", "cost", "co2_t"}
            assert -TOL <= detail["power"] <= detail["available"] + TOL
            assert detail["power"] + detail["reserve"] <= detail["available"] + TOL
        for kind in ("Solar (rooftop + utility)", "Wind"):
            assert interval["sources"][kind]["reserve"] == 0  # weather-driven: none
        battery = interval["storage"]["Grid battery"]
        assert set(battery) == {"charge", "discharge", "soc", "reserve", "cost"}
        supplied = sum(interval["allocation"].values()) + battery["discharge"] - battery["charge"]
        assert supplied + interval["unserved"] == pytest.approx(interval["demand"], abs=TOL)
        assert interval["price"] is not None
        hydro_mwh += 0.5 * interval["sources"]["Hydro"]["power"]
    # The daily budget of hydro holds (it is no longer a cap on availability).
    assert hydro_mwh <= 12_000 + TOL
    assert EnergyMix.objects.filter(dispatch_run_id=body["id"]).count() == 48 * 8
    # The battery ends where it started (terminal SoC defaults to the initial SoC).
    unit = StorageUnit.objects.get(city=city)
    last = body["intervals"][-1]["storage"]["Grid battery"]["soc"]
    assert last >= unit.initial_soc * unit.energy_mwh - TOL


def test_reserve_costs_a_little_more_than_base(
    owner_client, city, victoria, django_capture_on_commit_callbacks
):
    demo_fleet_create(city)
    forecast_run = forecast_run_for_day(city, victoria, "2014-07-08")
    with_quantiles(forecast_run)
    base = run_dispatch(owner_client, forecast_run, django_capture_on_commit_callbacks,
                        mode="base")  # fmt: skip
    reserve = run_dispatch(owner_client, forecast_run, django_capture_on_commit_callbacks)
    assert base["mode"] == "base" and base["kpis"]["reserve_required_mwh"] == 0
    assert all(i["reserve_required"] is None for i in base["intervals"])
    assert reserve["objective"] >= base["objective"]
    assert reserve["totals"]["cost"] <= 1.05 * base["totals"]["cost"]


def test_pv_and_wind_follow_the_weather_rows_of_the_horizon(
    owner_client, city, victoria, django_capture_on_commit_callbacks
):
    demo_fleet_create(city)
    forecast_run = forecast_run_for_day(city, victoria, "2014-01-16")
    stamps = list(forecast_run.points.values_list("timestamp", flat=True))
    hours = np.arange(len(stamps)) / 2
    Observation.objects.bulk_create(
        Observation(
            city=city, timestamp=ts, temperature_c=30.0, wind_speed_ms=2.0 + hour / 4,
            irradiance_wm2=max(0.0, 900 * np.sin(np.pi * (hour - 8) / 14)),
        )
        for ts, hour in zip(stamps, hours, strict=True)
    )  # fmt: skip
    body = run_dispatch(owner_client, forecast_run, django_capture_on_commit_callbacks)
    basis = body["availability_basis"]
    assert basis["Solar (rooftop + utility)"] == "pv_weather"
    assert basis["Wind"] == "wind_weather"
    wind = [i["sources"]["Wind"]["available"] for i in body["intervals"]]
    assert wind[0] < wind[-1]  # the wind picks up through the day
    assert all(b >= a - TOL for a, b in zip(wind, wind[1:], strict=False))


def test_infeasible_input_is_a_422_naming_the_conflicting_constraints(owner_client, city, victoria):
    demo_fleet_create(city)
    coal = GenerationSource.objects.get(city=city, name="Brown coal")
    coal.must_run_fraction = 0.95  # about 4,500 MW, above the night's demand
    coal.save()
    forecast_run = forecast_run_for_day(city, victoria, "2014-10-05")
    response = owner_client.post(
        "/api/v1/dispatch/",
        {"forecast_run": forecast_run.pk, "policy": {"allow_dump": False}},
        format="json",
    )
    error = assert_error(response, 422, "infeasible")
    constraints = error["details"]["constraints"]
    assert any(name.startswith("must-run of Brown coal") for name in constraints)
    assert any(name.startswith("no dump allowed") for name in constraints)
    assert any(name.startswith("balance at interval") for name in constraints)
    assert "must-run of Brown coal" in error["message"]
    assert not Job.objects.exists() and not DispatchRun.objects.exists()
    # Dumping allowed (the default): the same fleet is accepted.
    accepted = owner_client.post(
        "/api/v1/dispatch/", {"forecast_run": forecast_run.pk}, format="json"
    )
    assert accepted.status_code == 202


def test_policy_targets_come_back_as_target_achieved_and_shortfall(
    owner_client, city, victoria, django_capture_on_commit_callbacks
):
    demo_fleet_create(city)
    forecast_run = forecast_run_for_day(city, victoria, "2014-07-08")
    with_quantiles(forecast_run)
    policy = {"min_renewable_share": 0.9, "co2_cap": 1000}
    body = run_dispatch(
        owner_client, forecast_run, django_capture_on_commit_callbacks, policy=policy
    )
    assert body["status"] == "optimal_with_shortfalls"
    assert body["totals"]["unserved_mwh"] == pytest.approx(0, abs=1e-6)  # soft: no shedding
    missed = {item["constraint"]: item for item in body["shortfalls"]}
    share = missed["min_renewable_share"]
    assert share["target"] == 0.9
    assert share["achieved"] == pytest.approx(body["totals"]["renewable_share"])
    assert share["shortfall"] == pytest.approx(0.9 - share["achieved"])
    co2 = missed["co2_cap"]
    assert co2["achieved"] == pytest.approx(body["totals"]["co2_t"])
    assert co2["shortfall"] == pytest.approx(co2["achieved"] - 1000)
    assert len(body["kpis"]["stage_objectives"]) == 3


@pytest.mark.parametrize(
    "change, field",
    [
        ({"availability_model": "sunshine"}, "availability_model"),
        ({"turbine_type": "Windy/9000"}, "turbine_type"),
        ({"hub_height_m": 5}, "hub_height_m"),
        ({"pv_tilt_deg": 120}, "pv_tilt_deg"),
        ({"reserve_fraction": -0.1}, "reserve_fraction"),
        ({"capacity_mw": -1}, "capacity_mw"),
        # 0.5 x 800 MW x 24 h = 9,600 MWh of must-run > a 5,000 MWh budget.
        ({"must_run_fraction": 0.5, "daily_energy_budget_mwh": 5000}, "daily_energy_budget_mwh"),
    ],
)
def test_new_source_fields_are_validated(owner_client, city, change, field):
    source = {"name": "Farm", "kind": "wind", "capacity_mw": 800, "renewable": True,
              "availability_model": "wind", "turbine_type": "E-126/4200"}  # fmt: skip
    error = assert_error(
        owner_client.post(sources_url(city), {**source, **change}, format="json"), 400, "invalid"
    )
    assert field in error["details"]["fields"]
    assert not GenerationSource.objects.exists()
    created = owner_client.post(sources_url(city), source, format="json")
    assert created.status_code == 201 and created.json()["availability_model"] == "wind"


def test_storage_terminal_soc_is_validated(owner_client, city):
    unit = {"name": "B", "energy_mwh": 100, "power_mw": 50, "min_soc": 0.1, "max_soc": 0.9,
            "initial_soc": 0.5}  # fmt: skip
    error = assert_error(
        owner_client.post(storage_url(city), {**unit, "terminal_soc": 0.95}, format="json"), 400
    )
    assert "terminal_soc" in error["details"]["fields"]
    created = owner_client.post(storage_url(city), {**unit, "terminal_soc": 0.8}, format="json")
    assert created.status_code == 201 and created.json()["terminal_soc"] == 0.8


def test_stochastic_mode_plans_for_three_demand_scenarios(
    owner_client, city, victoria, django_capture_on_commit_callbacks
):
    demo_fleet_create(city)
    forecast_run = forecast_run_for_day(city, victoria, "2014-07-08")
    with_quantiles(forecast_run, spread=0.1)
    body = run_dispatch(
        owner_client, forecast_run, django_capture_on_commit_callbacks, mode="stochastic"
    )
    assert body["mode"] == "stochastic" and body["status"] == "optimal"
    scenarios = body["kpis"]["scenarios"]
    assert [(s["label"], s["probability"]) for s in scenarios] == [
        ("q05", 0.185), ("q50", 0.63), ("q95", 0.185),
    ]  # fmt: skip
    assert scenarios[0]["cost"] < scenarios[1]["cost"] < scenarios[2]["cost"]
    expected = sum(s["probability"] * s["cost"] for s in scenarios)
    assert body["kpis"]["expected_cost"] == pytest.approx(expected)
    # The stored plan is the median scenario's: it balances the q50 demand.
    for interval in body["intervals"]:
        battery = interval["storage"]["Grid battery"]
        supplied = sum(interval["allocation"].values()) + battery["discharge"] - battery["charge"]
        assert supplied + interval["unserved"] == pytest.approx(interval["demand"], abs=TOL)


def test_admin_form_refuses_a_source_that_breaks_the_penalty_order(admin_user, city):
    demo_fleet_create(city)
    peaker = GenerationSource.objects.get(city=city, name="Gas peaker")
    # 900 per MWh through the battery's 0.92 x 0.92 round trip exceeds the terminal-SoC
    # penalty (1 000): the LP would rather miss the battery's target than run the peaker.
    form_class, data = admin_form_with(admin_user, peaker, marginal_cost=900)
    form = form_class(data=data, instance=peaker)
    assert not form.is_valid()
    assert "penalty order" in str(form.errors) and "Gas peaker" in str(form.errors)
    assert GenerationSource.objects.get(pk=peaker.pk).marginal_cost == 180
    data.update(marginal_cost=200)
    assert form_class(data=data, instance=GenerationSource.objects.get(pk=peaker.pk)).is_valid()
