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
