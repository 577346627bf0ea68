"""Forecasts made from weather vintages: the as-of rule, the run saying which vintage it
used, the no-weather fallback when the provider is down, and the live accuracy and
interval shift refreshed after actuals arrive.

The city holds the last ten weeks of the Victoria 2014 sample shifted by whole days so
that it ends at the next local midnight (synthetic, derived from the sample): a
vintage collected now is then issued before the forecast's start, as in production.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from django.utils import timezone

from forecasts.batch import forecast_batch_process
from forecasts.models import ForecastRun
from forecasts.services import ForecastSpec, forecast_request_create
from jobs.models import Job
from tests.factories import load_observations
from tests.weather.open_meteo_server import OpenMeteoServer
from training.artifacts import artifact_load
from training.inference import ForecastRequest, forecast_many
from training.models import ModelVersion
from training.services import model_version_train
from weather.models import WeatherVintage
from weather.providers import IssuedForecast, breaker_for
from weather.services import weather_vintage_collect, weather_vintage_store

TZ = "Australia/Melbourne"


@pytest.fixture
def shifted(victoria):
    """The sample's last ten weeks, ending at the next local midnight; and that midnight."""
    start_local = (pd.Timestamp(timezone.now()).tz_convert(TZ) + pd.Timedelta(days=1)).normalize()
    days = (start_local.tz_localize(None) - pd.Timestamp("2015-01-01")).days
    frame = victoria.loc["2014-10-22":].copy()
    frame.index = frame.index + pd.Timedelta(days=days)
    return frame, start_local.tz_convert("UTC")


@pytest.fixture
def trained(city, shifted, settings):
    settings.TRAINING_ITERATIONS = 30
    settings.TRAINING_FAMILIES = ["catboost", "catboost-no-weather", "seasonal-naive"]
    settings.TRAINING_BACKTEST_DAYS = 7
    settings.TRAINING_CALIBRATION_DAYS = 7
    settings.WEATHER_DEFAULT_PROVIDER = "open-meteo"
    frame, start = shifted
    load_observations(city, frame)
    model_version_train(city=city)
    return city, frame, start


def tomorrow_temperatures(frame: pd.DataFrame) -> pd.Series:
    """The next day's weather forecast: the last day's temperatures, a day later."""
    last_day = frame["temperature_c"].iloc[-48:]
    return pd.Series(last_day.to_numpy(), index=last_day.index + pd.Timedelta(days=1))


def deployed_algorithms(city) -> dict[str, str]:
    """Variant -> the algorithm the active model deploys for it. Which family wins each
    variant's backtest depends on the window (the data is shifted to end at today's next
    midnight), so the tests compare with what training chose, not a fixed name."""
    model = artifact_load(ModelVersion.objects.get(city=city, status="active"))
    return {name: variant.algorithm for name, variant in model.variants.items()}


def vintage(city, issued_at, temperatures: pd.Series) -> WeatherVintage:
    hourly = temperatures[temperatures.index.minute == 0]
    frame = pd.DataFrame({"temperature_c": hourly})
    return weather_vintage_store(city=city, forecast=IssuedForecast("upload", issued_at, frame))


def test_a_forecast_reads_the_latest_vintage_issued_before_its_start(trained):
    city, frame, start = trained
    temps = tomorrow_temperatures(frame)
    before = vintage(city, start - pd.Timedelta(hours=2), temps)
    after = vintage(city, start + pd.Timedelta(minutes=30), temps + 20)  # issued later
    request = ForecastRequest("a", city, start, 24, (0.05, 0.5, 0.95))
    (result,) = forecast_many([request])
    assert result.weather == "vintage" and result.weather_vintage == before
    assert result.method == deployed_algorithms(city)["weather"]  # the weather variant
    after.delete()
    (again,) = forecast_many([request])
    np.testing.assert_array_equal(result.values[0.5], again.values[0.5])
    # A forecast from after the second vintage's issue reads it.
    after = vintage(city, start + pd.Timedelta(minutes=30), temps + 20)
    later = ForecastRequest("b", city, start + pd.Timedelta(hours=1), 12, (0.05, 0.5, 0.95))
    (result,) = forecast_many([later])
    assert result.weather_vintage == after


def test_collected_vintage_then_provider_down_falls_back_without_failing(
    trained, settings, django_capture_on_commit_callbacks, owner_client
):
    city, frame, start = trained
    temps = tomorrow_temperatures(frame)
    server = OpenMeteoServer(temps, start - pd.Timedelta(hours=1), hours=48)
    settings.WEATHER_OPEN_METEO_URL = server.url
    settings.WEATHER_TIMEOUT_SECONDS = (0.5, 0.5)
    breaker_for("open-meteo").close()
    try:
        collected = weather_vintage_collect(city=city)
        assert collected is not None and collected.issued_at <= start

        def forecast(horizon: int) -> ForecastRun:
            spec = ForecastSpec(city=city, start=start.to_pydatetime(), horizon_hours=horizon)
            job, _ = forecast_request_create(
                organization_id=city.organization_id, user=None, spec=spec
            )
            forecast_batch_process(wait_seconds=0)
            job.refresh_from_db()
            assert job.state == Job.State.SUCCEEDED
            return ForecastRun.objects.get(pk=job.result["forecast_run"])

        algorithms = deployed_algorithms(city)
        run = forecast(24)
        assert run.weather == "vintage" and run.weather_vintage_id == collected.pk
        assert run.method == algorithms["weather"] and run.quality == "normal"

        # The provider goes down: no vintage to read, the collection fails, the
        # forecast falls back to the no-weather model and says why.
        server.mode = "500"
        WeatherVintage.objects.all().delete()
        assert weather_vintage_collect(city=city) is None
        fallback = forecast(23)
        assert fallback.weather == "none" and fallback.weather_vintage is None
        assert fallback.method == algorithms["no_weather"] and fallback.quality == "normal"
        assert "open-meteo failing since" in fallback.weather_note
        assert "HTTP 500" in fallback.weather_note
    finally:
        server.close()
        breaker_for("open-meteo").close()

    # Actuals arrive: the version's live accuracy and interval shift are refreshed.
    actual = frame.iloc[-48:][["demand_mw"]].copy()
    actual.index = actual.index + pd.Timedelta(days=1)
    from cities.services import observations_upsert

    with django_capture_on_commit_callbacks(execute=True):
        observations_upsert(city=city, frame=actual)
    model = ModelVersion.objects.get(city=city, status="active")
    live = model.live_metrics
    assert live["points"] == 48 and live["days"] == 1
    assert 0 < live["mape"] < 30 and 0 <= live["coverage_90"] <= 100
    assert set(live) >= {"mape", "coverage_90", "points", "updated_at"}
    by_lead = model.live_calibration["shift_mw_by_lead"]
    assert set(by_lead) == {"1"}  # only day-ahead runs met their actuals
    assert set(by_lead["1"]) == {str(q) for q in model.quantiles}
    shown = owner_client.get(f"/api/v1/models/{model.pk}/").json()
    assert shown["live_mape"] == live["mape"] and shown["live_points"] == 48
    assert shown["live_coverage_90"] == live["coverage_90"] and shown["mape"] is not None
    # The next forecast carries the shift it was issued with.
    (result,) = forecast_many([ForecastRequest("c", city, start, 24, (0.05, 0.5, 0.95))])
    assert result.calibration_shift == by_lead
