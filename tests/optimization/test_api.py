"""Fleet and dispatch API: organisation scope, admin-only writes, validation, 202 + job."""

from __future__ import annotations

import dataclasses
import math
import re

import pytest

from jobs.models import Job
from optimization.fleet import demo_fleet_create
from optimization.lp import (
    DEFAULT_TERMINAL_SOC_PENALTY,
    Policy,
    SourceSpec,
    StorageSpec,
    penalty_order_validate,
)
from optimization.models import (
    CYCLE_COST_MAX,
    EFFICIENCY_MIN,
    MARGINAL_COST_MAX,
    MARGINAL_COST_MIN,
    DispatchRun,
    GenerationSource,
    StorageUnit,
)
from optimization.services import dispatch_run_execute
from tests.optimization.helpers import admin_form_with
from tests.optimization.test_services import forecast_run_for_day

SOURCE = {
    "name": "Offshore wind",
    "kind": "wind",
    "capacity_mw": 800,
    "marginal_cost": 0,
    "co2_t_per_mwh": 0,
    "renewable": True,
    "availability_profile": [0.4] * 24,
}
BATTERY = {
    "name": "Big battery",
    "energy_mwh": 600,
    "power_mw": 300,
    "charge_efficiency": 0.9,
    "discharge_efficiency": 0.9,
    "initial_soc": 0.5,
    "min_soc": 0.1,
    "max_soc": 0.9,
}


def sources_url(city, source_id=None) -> str:
    base = f"/api/v1/cities/{city.pk}/sources/"
    return f"{base}{source_id}/" if source_id else base


def storage_url(city, unit_id=None) -> str:
    base = f"/api/v1/cities/{city.pk}/storage/"
    return f"{base}{unit_id}/" if unit_id else base


def assert_error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert set(error) == {"code", "message", "details"} and error["message"]
    if code:
        assert error["code"] == code
    return error


def test_owner_creates_and_lists_sources_and_storage(owner_client, city):
    created = owner_client.post(sources_url(city), SOURCE, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["availability_profile"] == [0.4] * 24
    listed = owner_client.get(sources_url(city)).json()
    assert listed["count"] == 1 and listed["results"][0]["name"] == "Offshore wind"

    battery = owner_client.post(storage_url(city), BATTERY, format="json")
    assert battery.status_code == 201, battery.content
    assert battery.json()["round_trip_efficiency"] == pytest.approx(0.81)
    unit_id = battery.json()["id"]
    patched = owner_client.patch(storage_url(city, unit_id), {"power_mw": 350}, format="json")
    assert patched.status_code == 200 and patched.json()["power_mw"] == 350
    assert owner_client.delete(storage_url(city, unit_id)).status_code == 204
    assert not StorageUnit.objects.filter(pk=unit_id).exists()


def test_teammate_reads_but_cannot_write(owner_client, teammate_client, city):
    source_id = owner_client.post(sources_url(city), SOURCE, format="json").json()["id"]
    assert teammate_client.get(sources_url(city)).json()["count"] == 1
    assert teammate_client.get(sources_url(city, source_id)).status_code == 200
    assert_error(teammate_client.post(sources_url(city), {**SOURCE, "name": "x"}, format="json"),
                 403)  # fmt: skip
    assert_error(
        teammate_client.patch(sources_url(city, source_id), {"capacity_mw": 1}, format="json"),
        403,
    )
    assert_error(teammate_client.delete(sources_url(city, source_id)), 403)
    assert_error(teammate_client.post(storage_url(city), BATTERY, format="json"), 403)
    assert GenerationSource.objects.get(pk=source_id).capacity_mw == 800


def test_stranger_sees_nothing_of_the_city(stranger_client, city, victoria, owner):
    demo_fleet_create(city)
    source = GenerationSource.objects.filter(city=city).first()
    unit = StorageUnit.objects.filter(city=city).first()
    forecast_run = forecast_run_for_day(city, victoria, "2014-07-08")
    dispatch_run = DispatchRun.objects.create(forecast_run=forecast_run)
    for url in (sources_url(city), sources_url(city, source.pk), storage_url(city),
                storage_url(city, unit.pk), f"/api/v1/dispatch/{dispatch_run.pk}/"):  # fmt: skip
        assert_error(stranger_client.get(url), 404, "not_found")
    assert_error(stranger_client.post(sources_url(city), SOURCE, format="json"), 404)
    assert_error(stranger_client.delete(sources_url(city, source.pk)), 404)
    response = stranger_client.post(
        "/api/v1/dispatch/", {"forecast_run": forecast_run.pk}, format="json"
    )
    assert_error(response, 404)
    assert not Job.objects.exists()
    assert GenerationSource.objects.filter(pk=source.pk).exists()


@pytest.mark.parametrize(
    "change, field",
    [
        ({"capacity_mw": -5}, "capacity_mw"),
        ({"capacity_mw": "lots"}, "capacity_mw"),
        ({"availability_profile": [0.5] * 23}, "availability_profile"),
        ({"availability_profile": [0.5] * 23 + [1.5]}, "availability_profile"),
        ({"availability_profile": "flat"}, "availability_profile"),
        ({"must_run_fraction": 2}, "must_run_fraction"),
        ({"renewable": "perhaps"}, "renewable"),
        ({"kind": "fusion"}, "kind"),
        ({"name": "unserved"}, "name"),
    ],
)
def test_bad_source_input_is_a_400_that_changes_nothing(owner_client, city, change, field):
    response = owner_client.post(sources_url(city), {**SOURCE, **change}, format="json")
    error = assert_error(response, 400, "invalid")
    assert field in error["details"]["fields"]
    assert not GenerationSource.objects.exists()


@pytest.mark.parametrize(
    "change",
    [
        {"charge_efficiency": 1.5},
        {"discharge_efficiency": 0},
        {"energy_mwh": -1},
        {"min_soc": 0.6},  # above initial_soc 0.5
        {"initial_soc": 0.95},  # above max_soc 0.9
        {"power_mw": [300]},
    ],
)
def test_bad_storage_input_is_a_400(owner_client, city, change):
    assert_error(owner_client.post(storage_url(city), {**BATTERY, **change}, format="json"), 400)
    assert not StorageUnit.objects.exists()


def test_patch_is_validated_against_the_stored_values(owner_client, city):
    unit_id = owner_client.post(storage_url(city), BATTERY, format="json").json()["id"]
    assert_error(owner_client.patch(storage_url(city, unit_id), {"max_soc": 0.3}, format="json"),
                 400)  # fmt: skip
    assert StorageUnit.objects.get(pk=unit_id).max_soc == 0.9


def test_duplicate_name_is_a_409(owner_client, city):
    assert owner_client.post(sources_url(city), SOURCE, format="json").status_code == 201
    assert_error(owner_client.post(sources_url(city), SOURCE, format="json"), 409, "conflict")
    other = owner_client.post(sources_url(city), {**SOURCE, "name": "Other"}, format="json")
    renamed = owner_client.patch(
        sources_url(city, other.json()["id"]), {"name": SOURCE["name"]}, format="json"
    )
    assert_error(renamed, 409, "conflict")
    assert GenerationSource.objects.count() == 2


def test_sources_and_storage_share_one_namespace(owner_client, city):
    assert owner_client.post(sources_url(city), SOURCE, format="json").status_code == 201
    clash = owner_client.post(storage_url(city), {**BATTERY, "name": SOURCE["name"]}, format="json")
    assert_error(clash, 409, "conflict")
    battery = owner_client.post(storage_url(city), BATTERY, format="json").json()
    renamed = owner_client.patch(
        sources_url(city, GenerationSource.objects.get().pk), {"name": BATTERY["name"]},
        format="json",
    )  # fmt: skip
    assert_error(renamed, 409, "conflict")
    assert StorageUnit.objects.get().pk == battery["id"]
    assert GenerationSource.objects.get().name == SOURCE["name"]


def test_dispatch_honours_the_idempotency_key(owner_client, city, victoria):
    demo_fleet_create(city)
    run = forecast_run_for_day(city, victoria, "2014-07-01")
    headers = {"HTTP_IDEMPOTENCY_KEY": "dispatch-1"}
    first = owner_client.post(
        "/api/v1/dispatch/", {"forecast_run": run.pk}, format="json", **headers
    )
    again = owner_client.post(
        "/api/v1/dispatch/", {"forecast_run": run.pk}, format="json", **headers
    )
    assert first.json()["job"]["id"] == again.json()["job"]["id"]
    other = owner_client.post(
        "/api/v1/dispatch/",
        {"forecast_run": run.pk, "policy": {"voll": 8000}},
        format="json",
        **headers,
    )
    assert_error(other, 409, "idempotency_key_reused")
    assert Job.objects.count() == 1


def test_post_dispatch_answers_202_with_the_job_and_location(
    teammate_client, city, victoria, django_capture_on_commit_callbacks
):
    demo_fleet_create(city)
    forecast_run = forecast_run_for_day(city, victoria, "2014-07-08")
    payload = {"forecast_run": forecast_run.pk, "policy": {"co2_price": 25}}
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = teammate_client.post("/api/v1/dispatch/", payload, format="json")
    assert response.status_code == 202, response.content
    job = response.json()["job"]
    # docs/api.md's job fields, all present (extra fields are allowed by the contract).
    assert set(job) >= {"id", "kind", "state", "progress", "result", "error", "created_at",
                        "started_at", "finished_at"}  # fmt: skip
    assert job["kind"] == "optimize" and job["state"] == "queued"
    assert response["Location"] == f"/api/v1/jobs/{job['id']}/"
    assert len(callbacks) == 1
    dispatch_run = DispatchRun.objects.get(job_id=job["id"])
    assert dispatch_run.policy == {"co2_price": 25.0}


@pytest.mark.parametrize(
    "payload, status, code",
    [
        ({}, 400, "invalid"),
        ({"forecast_run": "one"}, 400, "invalid"),
        ({"forecast_run": 999999}, 404, "not_found"),
        ({"mode": "magic"}, 400, "invalid"),
        ({"policy": {"voll": -1}}, 400, "invalid"),
        ({"policy": {"budget": 3}}, 400, "invalid"),
        # A policy penalty above the reserve shortfall penalty breaks the order.
        (
            {"policy": {"min_renewable_share": 0.5, "renewable_shortfall_penalty": 6000}},
            422,
            "invalid_policy",
        ),
        ({"policy": {"allow_dump": "sometimes"}}, 400, "invalid"),
        ({"policy": {"terminal_soc_penalty": -1}}, 400, "invalid"),
        ({"policy": {"voll": 100}}, 400, "invalid"),  # below the bound
        ({"policy": {"voll": 1e308}}, 400, "invalid"),
        ({"policy": {"voll": "Infinity"}}, 400, "invalid"),
        ({"policy": {"voll": True}}, 400, "invalid"),
        ({"policy": {"co2_price": 20000}}, 400, "invalid"),
        ({"policy": {"dump_penalty": -1e308}}, 400, "invalid"),
        # Within bounds but out of the penalty order with this fleet:
        ({"policy": {"voll": 1000}}, 422, "invalid_policy"),  # not above dump (1000)
        ({"policy": {"dump_penalty": 150}}, 422, "invalid_policy"),  # the peaker costs 180
        ({"policy": {"co2_price": 5000}}, 422, "invalid_policy"),
    ],
)
def test_bad_dispatch_requests(owner_client, city, victoria, payload, status, code):
    demo_fleet_create(city)
    forecast_run = forecast_run_for_day(city, victoria, "2014-07-08")
    body = {"forecast_run": forecast_run.pk, **payload} if payload else {}
    assert_error(owner_client.post("/api/v1/dispatch/", body, format="json"), status, code)
    assert not Job.objects.exists()


def test_dispatch_without_sources_is_422(owner_client, city, victoria):
    forecast_run = forecast_run_for_day(city, victoria, "2014-07-08")
    response = owner_client.post(
        "/api/v1/dispatch/", {"forecast_run": forecast_run.pk}, format="json"
    )
    assert_error(response, 422, "no_sources")


def test_get_dispatch_shows_totals_and_every_interval(teammate_client, city, victoria):
    demo_fleet_create(city)
    forecast_run = forecast_run_for_day(city, victoria, "2014-10-05")  # DST: 46 half-hours
    dispatch_run = DispatchRun.objects.create(forecast_run=forecast_run)
    dispatch_run_execute(dispatch_run)
    body = teammate_client.get(f"/api/v1/dispatch/{dispatch_run.pk}/").json()
    assert body["status"] == "optimal" and body["solver"] == "highs"
    assert body["totals"]["renewable_share"] == pytest.approx(dispatch_run.renewable_share)
    assert len(body["intervals"]) == 46
    dearest = max(GenerationSource.objects.values_list("marginal_cost", flat=True))
    for interval in body["intervals"]:
        # No shortfall: the price stays within the fleet's costs (storage losses included).
        assert -1e-6 <= interval["price"] <= dearest / 0.92**2 + 2
        storage = interval["storage"]["Grid battery"]
        supplied = sum(interval["allocation"].values()) + storage["discharge"] - storage["charge"]
        assert supplied + interval["unserved"] == pytest.approx(interval["demand"], abs=1e-3)
        assert set(interval["allocation"]) == set(
            GenerationSource.objects.filter(city=city).values_list("name", flat=True)
        )


def fleet_state(city) -> list:
    """Every stored field of the city's fleet, to show that a rejected write changed nothing."""
    return [
        list(model.objects.filter(city=city).order_by("pk").values())
        for model in (GenerationSource, StorageUnit)
    ]


def dispatch(client, forecast_run, **extra):
    return client.post(
        "/api/v1/dispatch/", {"forecast_run": forecast_run.pk, **extra}, format="json"
    )


@pytest.mark.parametrize(
    "change, field, words",
    [
        ({"capacity_mw": 1e308}, "capacity_mw", "100,000 MW"),
        ({"marginal_cost": -1e308}, "marginal_cost", "-500 and 900"),
        ({"marginal_cost": 5000}, "marginal_cost", "per MWh"),
        ({"co2_t_per_mwh": 6}, "co2_t_per_mwh", "t per MWh"),
        ({"daily_energy_budget_mwh": 1e8}, "daily_energy_budget_mwh", "MWh"),
        ({"capacity_mw": True}, "capacity_mw", "not true or false"),
        ({"availability": False}, "availability", "not true or false"),
        ({"capacity_mw": "NaN"}, "capacity_mw", "finite"),
        ({"marginal_cost": "-Infinity"}, "marginal_cost", "finite"),
        ({"ramp_limit": "nan"}, "ramp_limit", "finite"),
    ],
)
def test_absurd_source_values_are_a_400_that_changes_nothing(
    owner_client, city, change, field, words
):
    demo_fleet_create(city)
    coal = GenerationSource.objects.get(city=city, name="Brown coal")
    before = fleet_state(city)
    error = assert_error(
        owner_client.patch(sources_url(city, coal.pk), change, format="json"), 400, "invalid"
    )
    assert field in error["details"]["fields"] and words in error["message"]
    assert fleet_state(city) == before


@pytest.mark.parametrize(
    "change, field, words",
    [
        ({"charge_efficiency": 1e-320}, "charge_efficiency", "not a battery"),
        ({"discharge_efficiency": 0.4}, "discharge_efficiency", "not a battery"),
        ({"max_soc": True}, "max_soc", "not true or false"),
        ({"energy_mwh": 1e308}, "energy_mwh", "1,000,000 MWh"),
        ({"power_mw": "Infinity"}, "power_mw", "finite"),
        ({"cycle_cost": 1e308}, "cycle_cost", "per MWh"),
    ],
)
def test_absurd_storage_values_are_a_400_that_changes_nothing(
    owner_client, city, change, field, words
):
    demo_fleet_create(city)
    unit = StorageUnit.objects.get(city=city)
    before = fleet_state(city)
    error = assert_error(
        owner_client.patch(storage_url(city, unit.pk), change, format="json"), 400, "invalid"
    )
    assert field in error["details"]["fields"] and words in error["message"]
    assert fleet_state(city) == before


def test_a_json_nan_literal_is_a_400(owner_client, city):
    body = '{"name": "x", "kind": "gas", "capacity_mw": NaN}'
    response = owner_client.post(sources_url(city), body, content_type="application/json")
    assert_error(response, 400)
    assert not GenerationSource.objects.exists()


def test_after_rejected_fuzz_the_city_still_dispatches(owner_client, city, victoria):
    demo_fleet_create(city)
    coal = GenerationSource.objects.get(city=city, name="Brown coal")
    unit = StorageUnit.objects.get(city=city)
    for url, change in [
        (sources_url(city, coal.pk), {"capacity_mw": 1e308, "marginal_cost": -1e308}),
        (storage_url(city, unit.pk), {"charge_efficiency": 1e-320, "max_soc": True}),
    ]:
        assert_error(owner_client.patch(url, change, format="json"), 400)
    forecast_run = forecast_run_for_day(city, victoria, "2014-07-08")
    assert dispatch(owner_client, forecast_run).status_code == 202


@pytest.mark.parametrize(
    "url_of, change, field",
    [
        # Each within its own bounds, together out of order: 900 / (0.92 * 0.92) > 1000.
        (lambda city: sources_url(city, _pk(GenerationSource, city)), {"marginal_cost": 900},
         "marginal_cost"),
        # 180 / (0.5 * 0.5) + 300 > 1000
        (lambda city: storage_url(city, _pk(StorageUnit, city)),
         {"charge_efficiency": 0.5, "discharge_efficiency": 0.5, "cycle_cost": 300},
         "cycle_cost"),
    ],
)  # fmt: skip
def test_a_write_that_breaks_the_penalty_order_is_a_400(owner_client, city, url_of, change, field):
    demo_fleet_create(city)
    before = fleet_state(city)
    error = assert_error(owner_client.patch(url_of(city), change, format="json"), 400, "invalid")
    assert "penalty order" in error["message"] and "Gas peaker" in error["message"]
    assert field in error["details"]["fields"]
    assert fleet_state(city) == before


def _pk(model, city) -> int:
    return model.objects.filter(city=city).order_by("-pk").first().pk


# The lowest default penalty: it acts once a store has a terminal SoC target.
LOWEST = DEFAULT_TERMINAL_SOC_PENALTY
# Lossless and free to cycle: it changes no source's cost, only brings LOWEST into play.
TARGET_ONLY = StorageSpec("Target", 1.0, 1.0, 1.0, 1.0, 0.5, 0.0, 1.0, terminal_soc=0.5)


@pytest.mark.parametrize("cost", [MARGINAL_COST_MIN, MARGINAL_COST_MAX])
def test_a_source_at_its_cost_bound_keeps_the_default_penalty_order(cost):
    """The field bounds alone never break the order with the default policy; a source
    whose cost reaches the lowest default penalty does, and is named."""
    at_bound = SourceSpec("At bound", "gas", 1e5, None, cost, 5.0, False)
    penalty_order_validate([at_bound], [TARGET_ONLY], Policy())  # does not raise
    past = dataclasses.replace(at_bound, name="Past", marginal_cost=math.copysign(LOWEST, cost))
    expected = re.escape(f"terminal SoC penalty ({LOWEST:g}) must exceed Past's cost")
    with pytest.raises(ValueError, match=expected):
        penalty_order_validate([at_bound, past], [TARGET_ONLY], Policy())


def test_storage_at_its_bounds_keeps_the_default_penalty_order():
    """The least efficient, dearest-cycling store the bounds allow passes with a free
    source; one whose cycle cost reaches the lowest default penalty fails, and is named."""
    free = SourceSpec("Free", "solar", 1e5, None, 0.0, 0.0, True)
    worst = StorageSpec(
        "Worst", 1e6, 1e6, EFFICIENCY_MIN, EFFICIENCY_MIN, 0.5, 0, 1, CYCLE_COST_MAX,
        terminal_soc=0.5,
    )  # fmt: skip
    penalty_order_validate([free], [worst], Policy())  # does not raise
    past = dataclasses.replace(worst, name="Past", cycle_cost=LOWEST)
    expected = re.escape(f"and Past's cycle cost {LOWEST:g})")
    with pytest.raises(ValueError, match=expected):
        penalty_order_validate([free], [worst, past], Policy())


@pytest.mark.parametrize(
    "model, name, field, value",
    [
        (GenerationSource, "Brown coal", "marginal_cost", 1e308),
        (StorageUnit, "Grid battery", "charge_efficiency", 1e-320),
    ],
)
def test_a_fleet_already_out_of_order_gets_422_naming_the_source_and_can_be_repaired(
    owner_client, city, victoria, model, name, field, value
):
    demo_fleet_create(city)
    item = model.objects.get(city=city, name=name)
    model.objects.filter(pk=item.pk).update(**{field: value})  # as before the bounds
    forecast_run = forecast_run_for_day(city, victoria, "2014-07-08")
    error = assert_error(dispatch(owner_client, forecast_run), 422, "invalid_policy")
    assert "penalty order" in error["message"].lower()
    if model is GenerationSource:
        assert name in error["message"]
    else:
        # lp.penalty_order_validate names the first source it can no longer afford to
        # run through that storage, not the unit itself.
        assert "round-trip efficiency" in error["message"]
        names = GenerationSource.objects.filter(city=city).values_list("name", flat=True)
        assert any(f"exceed {source}'s cost" in error["message"] for source in names)
    assert not Job.objects.exists()
    # The repair goes through although the stored fleet is out of order.
    url = (sources_url if model is GenerationSource else storage_url)(city, item.pk)
    default = {"marginal_cost": 35, "charge_efficiency": 0.92}[field]
    assert owner_client.patch(url, {field: default}, format="json").status_code == 200
    assert dispatch(owner_client, forecast_run).status_code == 202


@pytest.mark.parametrize(
    "model, values, field",
    [
        (GenerationSource, {"capacity_mw": "1e308"}, "capacity_mw"),
        (GenerationSource, {"marginal_cost": "-1e308"}, "marginal_cost"),
        (GenerationSource, {"capacity_mw": "nan"}, "capacity_mw"),
        (StorageUnit, {"charge_efficiency": "1e-320"}, "charge_efficiency"),
        (StorageUnit, {"cycle_cost": "2000"}, "cycle_cost"),
    ],
)
def test_admin_forms_apply_the_same_bounds(admin_user, city, model, values, field):
    demo_fleet_create(city)
    item = model.objects.filter(city=city).first()
    stored = getattr(item, field)
    form_class, data = admin_form_with(admin_user, item, **values)
    form = form_class(data=data, instance=item)
    assert not form.is_valid() and field in form.errors
    assert getattr(model.objects.get(pk=item.pk), field) == stored
