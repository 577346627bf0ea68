"""The API and its OpenAPI schema agree (issue 10's schemathesis findings): the schema
states what the API enforces, and the API refuses what the schema forbids."""

import pytest
import yaml

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    from django.test import Client

    with django_db_blocker.unblock():
        return yaml.safe_load(Client().get("/api/schema/").content)


@pytest.mark.parametrize("value", ["null", "0", "-1", "ten", ""])
def test_a_page_size_the_schema_forbids_is_a_400(owner_client, city, value):
    response = owner_client.get("/api/v1/cities/", {"page_size": value})
    assert response.status_code == 400
    assert response.json()["error"]["details"]["field"] == "page_size"


def test_a_large_page_size_is_still_cut_to_the_maximum(owner_client, city):
    assert owner_client.get("/api/v1/cities/", {"page_size": 99999}).status_code == 200


@pytest.mark.parametrize("name", ["start", "end"])
def test_an_empty_time_bound_is_a_400(owner_client, city, name):
    for url in (f"/api/v1/cities/{city.pk}/observations/", "/api/v1/forecasts/"):
        response = owner_client.get(url, {name: ""})
        assert response.status_code == 400, url
        assert response.json()["error"]["details"]["field"] == name


def test_unknown_policy_keys_are_a_400(owner_client):
    response = owner_client.post(
        "/api/v1/dispatch/", {"forecast_run": 1, "policy": {"vol": 5000}}, format="json"
    )
    assert response.status_code == 400
    assert "Unknown policy field" in response.json()["error"]["message"]


def test_the_schema_states_the_constraints_the_api_enforces(schema):
    components = schema["components"]["schemas"]
    quantiles = components["ForecastRequestRequest"]["properties"]["quantiles"]["items"]
    enum_name = quantiles["allOf"][0]["$ref"].rsplit("/", 1)[1]
    assert components[enum_name]["enum"] == [0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95]
    source = components["GenerationSourceRequest"]["properties"]
    assert "E-126/4200" in source["turbine_type"]["enum"] and "" in source["turbine_type"]["enum"]
    assert (source["hub_height_m"]["minimum"], source["hub_height_m"]["maximum"]) == (10, 250)
    assert components["PolicyRequest"]["additionalProperties"] is False
    city = components["CityRequest"]["properties"]
    assert "AU" in city["country"]["enum"] and "Australia/Melbourne" in city["timezone"]["enum"]
    assert "localtime" not in city["timezone"]["enum"] and city["name"]["minLength"] == 1
    page_size = next(
        p for p in schema["paths"]["/api/v1/jobs/"]["get"]["parameters"] if p["name"] == "page_size"
    )
    assert page_size["schema"]["minimum"] == 1
    assert "202" in schema["paths"]["/api/v1/jobs/{id}/"]["delete"]["responses"]


# The findings of docs/reliability.md's latest schemathesis run that were fixed: each
# test checks both sides, the schema (validated with jsonschema_rs, the validator
# schemathesis uses, so ECMA 262 regex semantics) and the API's answer.


def schema_validator(schema, component: str):
    import jsonschema_rs

    return jsonschema_rs.Draft4Validator(
        {"$ref": f"#/components/schemas/{component}", "components": schema["components"]}
    )


def parameter_validator(schema, path: str, name: str):
    import jsonschema_rs

    parameter = next(p for p in schema["paths"][path]["get"]["parameters"] if p["name"] == name)
    return jsonschema_rs.Draft4Validator(parameter["schema"])


def assert_400(response, field: str | None = None) -> dict:
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid" and error["message"]
    if field is not None:
        assert field in str(error["details"]), error
    return error


FORECAST = {"start": "2014-12-30T00:00:00+11:00", "horizon_hours": 6}


@pytest.mark.parametrize(
    "quantiles, allowed",
    [
        ([0.05, 0.95], True),
        ([0.25, 0.5, 0.75], True),
        ([0.95, 0.1, 0.1], True),
        ([0.05], False),
        ([0.5], False),
        ([0.5, 0.9, 0.95], False),
        ([0.05, 0.25, 0.5], False),
        ([0.05, 0.3, 0.95], False),
        ([], False),
    ],
)
def test_the_quantile_rule_is_the_same_in_schema_and_api(schema, owner_client, city, quantiles,
                                                          allowed):  # fmt: skip
    from forecasts.serializers import ForecastRequestSerializer

    item = {**FORECAST, "city": city.pk, "quantiles": quantiles}
    assert schema_validator(schema, "ForecastRequestRequest").is_valid(item) is allowed
    batch = {"items": [item]}
    assert schema_validator(schema, "ForecastBatchRequest").is_valid(batch) is allowed
    assert ForecastRequestSerializer(data=item).is_valid() is allowed
    if not allowed:
        assert_400(owner_client.post("/api/v1/forecasts/", item, format="json"), "quantiles")
        assert_400(owner_client.post("/api/v1/forecasts/batch/", batch, format="json"), "quantiles")


NAMES_REFUSED = [
    "a\x00b",
    "tab\there",
    "two\nlines",
    "para\u2029graph",
    "\x85x",
    "   ",
    "\u00a0\u3000",
]
NAMES_ALLOWED = ["Bendigo", " Geelong ", "Zürich", "São Paulo", "a\u00adb", "東京"]


@pytest.mark.parametrize("name", NAMES_REFUSED + NAMES_ALLOWED)
def test_names_follow_the_pattern_the_schema_states(schema, owner_client, city, name):
    from httpapi.fields import PRINTABLE_TEXT_PATTERN, printable_text

    allowed = name in NAMES_ALLOWED
    assert printable_text(name) is allowed
    for component in ("CityRequest", "GenerationSourceRequest", "StorageUnitRequest"):
        assert schema["components"]["schemas"][component]["properties"]["name"]["pattern"] == (
            PRINTABLE_TEXT_PATTERN
        )
        assert schema_validator(schema, component).is_valid(
            {**{"CityRequest": CITY, "GenerationSourceRequest": SOURCE,
                "StorageUnitRequest": BATTERY}[component], "name": name}
        ) is allowed  # fmt: skip
    for url, body in (
        ("/api/v1/cities/", CITY),
        (f"/api/v1/cities/{city.pk}/sources/", SOURCE),
        (f"/api/v1/cities/{city.pk}/storage/", BATTERY),
    ):
        response = owner_client.post(url, {**body, "name": name}, format="json")
        if allowed:
            assert response.status_code == 201, response.content
            assert response.json()["name"] == name.strip()  # stored without the spaces
        else:
            assert_400(response, "name")
        if allowed and url.endswith("/sources/"):
            # Sources and storage share one namespace: free the name for storage.
            owner_client.delete(f"{url}{response.json()['id']}/")


CITY = {"name": "Ballarat", "country": "AU", "timezone": "Australia/Melbourne",
        "latitude": -37.56, "longitude": 143.85}  # fmt: skip
SOURCE = {"name": "Wind", "kind": "wind", "capacity_mw": 800, "marginal_cost": 0,
          "co2_t_per_mwh": 0, "renewable": True}  # fmt: skip
BATTERY = {"name": "Battery", "energy_mwh": 600, "power_mw": 300, "charge_efficiency": 0.9,
           "discharge_efficiency": 0.9, "initial_soc": 0.5, "min_soc": 0.1,
           "max_soc": 0.9}  # fmt: skip

OUT_OF_RANGE = [
    "1899-12-31T23:00:00Z",
    "2201-01-01T00:00:00Z",
    "1900-01-01T00:00:00+01:00",  # 1899 in UTC
    "2200-12-31T23:00:00-05:00",  # 2201 in UTC
    "1899-12-31T23:00:00-05:00",  # 1900 in UTC, but 1899 as written
    "2644-05-26T19:01:40.878838+11:36",
]
IN_RANGE = ["1900-01-01T00:00:00Z", "2200-12-31T23:00:00+05:00", "2014-07-02T00:00:00.5+10:00"]


@pytest.mark.parametrize("value", OUT_OF_RANGE + IN_RANGE)
def test_supported_years_are_stated_for_query_times(schema, owner_client, city, value):
    allowed = value in IN_RANGE
    for path in ("/api/v1/cities/{city_id}/observations/", "/api/v1/forecasts/"):
        for name in ("start", "end"):
            assert parameter_validator(schema, path, name).is_valid(value) is allowed
    response = owner_client.get(f"/api/v1/cities/{city.pk}/observations/", {"start": value})
    if allowed:
        assert response.status_code == 200
    else:
        assert response.status_code == 400
        assert response.json()["error"]["details"]["field"] == "start"
        assert "1900 and 2200" in response.json()["error"]["message"]


@pytest.mark.parametrize("value", OUT_OF_RANGE)
def test_supported_years_are_stated_for_body_times(schema, owner_client, city, value):
    start = schema["components"]["schemas"]["ForecastRequestRequest"]["properties"]["start"]
    assert "1900 and 2200" in start["description"]
    item = {**FORECAST, "city": city.pk, "start": value}
    assert not schema_validator(schema, "ForecastRequestRequest").is_valid(item)
    error = assert_400(owner_client.post("/api/v1/forecasts/", item, format="json"), "start")
    assert "1900 and 2200" in error["message"]


@pytest.mark.parametrize("start", ["2014-12-30T00:15:00+11:00", "2014-12-30T00:00:00+11:36",
                                   "2014-12-30T00:00:01Z", "2014-12-30T00:00:00.5Z"])  # fmt: skip
def test_a_forecast_start_off_the_half_hour_grid_is_refused_by_both(schema, owner_client, city,
                                                                    start):  # fmt: skip
    item = {**FORECAST, "city": city.pk, "start": start}
    assert not schema_validator(schema, "ForecastRequestRequest").is_valid(item)
    assert schema_validator(schema, "ForecastRequestRequest").is_valid(FORECAST | {"city": 1})
    assert_400(owner_client.post("/api/v1/forecasts/", item, format="json"), "start")


def fleet_and_dispatch_urls(city) -> list[tuple[str, str, str]]:
    return [
        ("post", "/api/v1/cities/{city_id}/sources/", f"/api/v1/cities/{city.pk}/sources/"),
        ("post", "/api/v1/cities/{city_id}/storage/", f"/api/v1/cities/{city.pk}/storage/"),
        ("post", "/api/v1/dispatch/", "/api/v1/dispatch/"),
    ]


@pytest.mark.parametrize("fmt", ["multipart", "form"])
def test_fleet_and_dispatch_bodies_are_json_only(schema, owner_client, city, fmt):
    from urllib.parse import urlencode

    for method, path, url in fleet_and_dispatch_urls(city):
        assert list(schema["paths"][path][method]["requestBody"]["content"]) == ["application/json"]
        if fmt == "multipart":
            response = owner_client.post(url, {"name": "x", "is_active": "0"}, format="multipart")
        else:
            response = owner_client.post(
                url, urlencode({"name": "x"}), content_type="application/x-www-form-urlencoded"
            )
        assert response.status_code == 415, url
        assert response.json()["error"]["code"] == "unsupported_media_type"
    for path in ("/api/v1/cities/{city_id}/sources/{item_id}/",
                 "/api/v1/cities/{city_id}/storage/{item_id}/"):  # fmt: skip
        assert list(schema["paths"][path]["patch"]["requestBody"]["content"]) == [
            "application/json"
        ]


@pytest.mark.parametrize(
    "component, body, change, field",
    [
        ("GenerationSourceRequest", SOURCE, {"renewable": "true"}, "renewable"),
        ("GenerationSourceRequest", SOURCE, {"renewable": 1}, "renewable"),
        ("GenerationSourceRequest", SOURCE, {"is_active": "0"}, "is_active"),
        ("GenerationSourceRequest", SOURCE, {"capacity_mw": "800"}, "capacity_mw"),
        ("GenerationSourceRequest", SOURCE, {"name": 5}, "name"),
        ("GenerationSourceRequest", SOURCE, {"availability_profile": [0.5] * 5},
         "availability_profile"),
        ("StorageUnitRequest", BATTERY, {"power_mw": "300"}, "power_mw"),
        ("StorageUnitRequest", BATTERY, {"is_active": "yes"}, "is_active"),
    ],
)  # fmt: skip
def test_fleet_fields_are_strict_json_as_the_schema_types_them(
    schema, owner_client, city, component, body, change, field
):
    assert schema_validator(schema, component).is_valid(body)
    assert not schema_validator(schema, component).is_valid({**body, **change})
    url = f"/api/v1/cities/{city.pk}/{'sources' if 'Source' in component else 'storage'}/"
    assert_400(owner_client.post(url, {**body, **change}, format="json"), field)


def test_a_null_availability_profile_is_the_empty_one(schema, owner_client, city):
    profile = schema["components"]["schemas"]["GenerationSourceRequest"]["properties"][
        "availability_profile"
    ]
    assert profile["nullable"] is True and profile["items"]["maximum"] == 1
    response = owner_client.post(
        f"/api/v1/cities/{city.pk}/sources/", {**SOURCE, "availability_profile": None},
        format="json",
    )  # fmt: skip
    assert response.status_code == 201 and response.json()["availability_profile"] == []


@pytest.mark.parametrize("change", [{"forecast_run": "1"}, {"policy": {"allow_dump": "yes"}}])
def test_dispatch_numbers_and_booleans_are_strict_json(schema, owner_client, change):
    body = {"forecast_run": 1, **change}
    assert not schema_validator(schema, "DispatchRequestRequest").is_valid(body)
    assert_400(owner_client.post("/api/v1/dispatch/", body, format="json"))


@pytest.mark.parametrize("count", [0, 101])
def test_the_batch_bounds_are_stated(schema, owner_client, city, count):
    items = schema["components"]["schemas"]["ForecastBatchRequest"]["properties"]["items"]
    assert (items["minItems"], items["maxItems"]) == (1, 100)
    batch = {"items": [{**FORECAST, "city": city.pk}] * count}
    assert not schema_validator(schema, "ForecastBatchRequest").is_valid(batch)
    assert_400(owner_client.post("/api/v1/forecasts/batch/", batch, format="json"), "items")


def test_upload_bodies_are_required(schema, owner_client, city):
    for path in ("/api/v1/cities/{city_id}/observations/",
                 "/api/v1/cities/{city_id}/weather-forecasts/"):  # fmt: skip
        assert schema["paths"][path]["post"]["requestBody"]["required"] is True
    response = owner_client.post(f"/api/v1/cities/{city.pk}/observations/")
    assert response.status_code in (400, 415) and response.json()["error"]["code"]
    response = owner_client.post(
        f"/api/v1/cities/{city.pk}/weather-forecasts/?issued_at=2014-12-30T00:00:00Z",
        b"", content_type="text/csv",
    )  # fmt: skip
    assert response.status_code == 400 and response.json()["error"]["code"]


@pytest.mark.parametrize(
    "path, name",
    [
        ("/api/v1/jobs/", "kind"),
        ("/api/v1/jobs/", "state"),
        ("/api/v1/jobs/", "page"),
        ("/api/v1/cities/", "page"),
        ("/api/v1/forecasts/", "city"),
        ("/api/v1/models/", "city"),
    ],
)
def test_an_empty_typed_query_parameter_is_a_400(schema, owner_client, city, path, name):
    import jsonschema_rs

    parameter = next(p for p in schema["paths"][path]["get"]["parameters"] if p["name"] == name)
    assert not jsonschema_rs.Draft4Validator(parameter["schema"]).is_valid("")
    response = owner_client.get(f"{path}?{name}=")
    assert response.status_code == 400
    assert response.json()["error"]["details"]["field"] == name
    assert owner_client.get(path).status_code == 200  # left out: no filter, first page
