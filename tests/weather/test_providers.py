"""The Open-Meteo provider against a local HTTP server in Open-Meteo's format: a good
answer, 500s, timeouts, malformed JSON, missing hours; the circuit breaker; credentials
encrypted at rest."""

from __future__ import annotations

import time

import pandas as pd
import pytest
from cryptography.fernet import Fernet

from tests.weather.open_meteo_server import OpenMeteoServer
from weather.credentials import credentials_decrypt
from weather.models import WeatherSource, WeatherVintage
from weather.providers import ProviderError, ProviderUnavailable, breaker_for, provider_fetch
from weather.selectors import weather_vintage_frame
from weather.services import (
    weather_source_credentials_set,
    weather_sources_credentials_rotate,
    weather_vintage_collect,
    weather_vintages_collect,
)

FIRST_HOUR = pd.Timestamp("2014-12-20 13:00", tz="UTC")


@pytest.fixture
def server(victoria, settings):
    server = OpenMeteoServer(victoria["temperature_c"], FIRST_HOUR)
    settings.WEATHER_OPEN_METEO_URL = server.url
    settings.WEATHER_TIMEOUT_SECONDS = (0.5, 0.5)
    settings.WEATHER_BREAKER_FAIL_MAX = 3
    settings.WEATHER_BREAKER_RESET_SECONDS = 0.6
    settings.WEATHER_DEFAULT_PROVIDER = "open-meteo"
    breaker_for("open-meteo").close()
    yield server
    server.close()
    breaker_for("open-meteo").close()


def fetch():
    return provider_fetch("open-meteo", latitude=-37.81, longitude=144.96, days=2, credentials={})


def test_collects_a_vintage_in_open_meteos_format(server, city, victoria):
    vintage = weather_vintage_collect(city=city)
    assert vintage is not None and vintage.provider == "open-meteo"
    query = server.requests[-1]
    assert query["latitude"] == "-37.8100" and query["longitude"] == "144.9600"
    assert "temperature_2m" in query["hourly"].split(",") and query["timezone"] == "GMT"
    assert vintage.hours == 48 and vintage.missing_hours == 0
    assert vintage.valid_from == FIRST_HOUR.to_pydatetime()
    # Hourly values, then linear on the city's half-hour grid.
    index = pd.date_range(FIRST_HOUR, periods=4, freq="30min")
    frame = weather_vintage_frame(vintage, index, 30)
    hourly = victoria["temperature_c"].round(1)
    assert frame["temperature_c"].iloc[0] == pytest.approx(hourly[FIRST_HOUR])
    midway = (hourly[FIRST_HOUR] + hourly[FIRST_HOUR + pd.Timedelta("1h")]) / 2
    assert frame["temperature_c"].iloc[1] == pytest.approx(midway)
    source = WeatherSource.objects.get(city=city)
    assert source.last_success_at is not None and source.last_error == ""


@pytest.mark.parametrize(
    ("mode", "message"),
    [("500", "HTTP 500"), ("malformed", "not JSON"), ("slow", "did not answer within")],
)
def test_failures_are_provider_errors_recorded_on_the_source(server, city, mode, message):
    server.mode = mode
    started = time.monotonic()
    with pytest.raises(ProviderError, match=message):
        fetch()
    assert time.monotonic() - started < 1.4  # the timeout, not the server's 1.5 s
    breaker_for("open-meteo").close()
    assert weather_vintage_collect(city=city) is None
    assert not WeatherVintage.objects.exists()
    source = WeatherSource.objects.get(city=city)
    assert source.last_failure_at is not None and message in source.last_error


def test_missing_hours_are_kept_missing_and_short_gaps_interpolated(server, city):
    server.mode = "missing_hours"
    vintage = weather_vintage_collect(city=city)
    assert vintage.hours == 48 and vintage.missing_hours == 9  # one null, eight absent
    index = pd.date_range(FIRST_HOUR, periods=96, freq="30min")
    frame = weather_vintage_frame(vintage, index, 30)["temperature_c"]
    assert frame.iloc[10] == pytest.approx((frame.iloc[8] + frame.iloc[12]) / 2)  # 1 h gap
    assert frame.iloc[40:56].isna().all() and frame.iloc[:40].notna().all()  # 8 h gap


def test_breaker_opens_after_repeated_failures_and_probes_half_open(server):
    server.mode = "500"
    for _ in range(3):
        with pytest.raises(ProviderError):
            fetch()
    calls = len(server.requests)
    with pytest.raises(ProviderUnavailable, match="circuit open"):
        fetch()
    assert len(server.requests) == calls  # open: the provider is not even asked
    time.sleep(0.7)
    server.mode = "ok"
    assert fetch().frame["temperature_c"].notna().all()  # the half-open probe succeeds
    assert len(server.requests) == calls + 1
    assert breaker_for("open-meteo").current_state == "closed"


def test_one_failing_city_does_not_stop_the_collection(server, city, org):
    from tests.factories import make_city

    make_city(org, "Geelong", latitude=-38.15, longitude=144.36)
    server.mode = "ok"
    assert weather_vintages_collect() == {"collected": 2, "failed": 0}
    server.mode = "500"
    breaker_for("open-meteo").close()
    assert weather_vintages_collect() == {"collected": 0, "failed": 2}


def test_credentials_are_encrypted_sent_and_rotated(server, city, settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.WEATHER_CREDENTIALS_KEYS = [old]
    source = WeatherSource.objects.create(city=city, provider="open-meteo")
    weather_source_credentials_set(source=source, credentials={"apikey": "s3cret-key"})
    stored = WeatherSource.objects.get(pk=source.pk).credentials_encrypted
    assert "s3cret" not in stored and credentials_decrypt(stored) == {"apikey": "s3cret-key"}
    weather_vintage_collect(city=city)
    assert server.requests[-1]["apikey"] == "s3cret-key"
    settings.WEATHER_CREDENTIALS_KEYS = [new, old]  # rotation: new key first
    assert weather_sources_credentials_rotate() == 1
    settings.WEATHER_CREDENTIALS_KEYS = [new]  # the old key retired
    rotated = WeatherSource.objects.get(pk=source.pk).credentials_encrypted
    assert credentials_decrypt(rotated) == {"apikey": "s3cret-key"}
    settings.WEATHER_CREDENTIALS_KEYS = [old]
    with pytest.raises(Exception, match="cannot be decrypted"):
        credentials_decrypt(rotated)
