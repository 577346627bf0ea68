"""The weather forecasts API: an uploaded file becomes a vintage (the "upload"
provider); bad files are 400s that store nothing; tenancy; live figures on models."""

from __future__ import annotations

import pandas as pd

from weather.models import WeatherVintage

URL = "/api/v1/cities/{}/weather-forecasts/"
CSV = "valid_for,temperature_c\n" + "".join(
    f"{t.isoformat()},{20 + i / 10}\n"
    for i, t in enumerate(pd.date_range("2014-12-30 13:00", periods=24, freq="h", tz="UTC"))
)


def post(client, city_id, body: str, issued_at="2014-12-30T12:00:00+00:00"):
    return client.post(
        URL.format(city_id) + f"?issued_at={issued_at.replace('+', '%2B')}",
        data=body.encode(),
        content_type="text/csv",
    )


def test_upload_stores_a_vintage_and_lists_it(owner_client, teammate_client, city):
    response = post(owner_client, city.pk, CSV)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["provider"] == "upload" and body["hours"] == 24
    assert body["issued_at"].startswith("2014-12-30T12:00")
    listed = teammate_client.get(URL.format(city.pk)).json()
    assert [v["id"] for v in listed["results"]] == [body["id"]]


def test_bad_files_are_400_and_store_nothing(owner_client, city):
    cases = [
        ("timestamp,temperature_c\n2014-12-30T13:00:00Z,20\n", "valid_for"),
        ("valid_for,temperature_c\n2014-12-30T13:00:00,20\n", "UTC offset"),
        ("valid_for,temperature_c\n2014-12-30T13:30:00Z,20\n", "whole hours"),
        ("valid_for,temperature_c\n2014-12-30T13:00:00Z,hot\n", "numbers"),
        ("valid_for,temperature_c\n2014-12-30T13:00:00Z,200\n", "out of range"),
        ("valid_for,temperature_c,pressure\n2014-12-30T13:00:00Z,20,1000\n", "Unknown"),
    ]
    for body, message in cases:
        response = post(owner_client, city.pk, body)
        assert response.status_code == 400, (body, response.json())
        assert message in response.json()["error"]["message"]
    assert post(owner_client, city.pk, CSV, issued_at="2014-12-30T12:00:00").status_code == 400
    assert (
        post(owner_client, city.pk, CSV, issued_at="2099-01-01T00:00:00+00:00").status_code == 400
    )
    assert not WeatherVintage.objects.exists()


def test_tenancy(teammate_client, stranger_client, city):
    assert post(teammate_client, city.pk, CSV).status_code == 403
    assert post(stranger_client, city.pk, CSV).status_code == 404
    assert stranger_client.get(URL.format(city.pk)).status_code == 404
    assert not WeatherVintage.objects.exists()
