"""Forecasts from collected weather vintages, and the fallback when the provider is down.

Runs in a throw-away SQLite database with the service's own code and a local HTTP
server answering in Open-Meteo's forecast format (tests/weather/open_meteo_server.py;
nothing reaches the internet). The Victoria 2014 sample is shifted by whole days so
that one of its days, of the same weekday, becomes tomorrow (synthetic, derived from
the sample): the service can then collect a forecast issued now for a start after
now, as in production. The server serves that day's observed temperature (a perfect
weather forecast); the day's demand is held back as the actuals.

1. city "Melbourne": train, collect a vintage (beat's service), forecast tomorrow:
   the run reads the vintage; scored against the held-back day.
2. city "Melbourne (provider down)": the same data, the server answers 500, then
   times out: the breaker opens, the collection fails, no job fails, the forecast
   comes from the no-weather model and says why.
3. the actuals arrive: the live figures of the model version.

    .venv/bin/python bench/weather_vintages.py
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
WORK = tempfile.mkdtemp(prefix="ef-weather-")
for name in ("DATABASE_URL", "REDIS_URL", "CACHE_URL"):
    os.environ.pop(name, None)
os.environ.update(
    ENERGY_VAR_DIR=WORK, DJANGO_SETTINGS_MODULE="energy_site.settings", LOG_LEVEL="ERROR"
)
# The demo's shorter backtest (demo/run.py): every family still runs the same protocol.
os.environ.setdefault("TRAINING_BACKTEST_DAYS", "14")
os.environ.setdefault("TRAINING_CALIBRATION_DAYS", "14")

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.utils import timezone  # noqa: E402

TZ = "Australia/Melbourne"


def shifted_sample(sample: pd.DataFrame) -> tuple[pd.DataFrame, pd.Timestamp, pd.Timestamp]:
    """(the sample shifted so that a 2014 day of tomorrow's weekday is tomorrow, that
    tomorrow's local midnight in UTC, the 2014 day)."""
    tomorrow = (pd.Timestamp(timezone.now()).tz_convert(TZ) + pd.Timedelta(days=1)).normalize()
    candidates = pd.date_range("2014-11-20", "2014-12-17", freq="D")
    day = next(d for d in candidates if d.weekday() == tomorrow.weekday())
    days = (tomorrow.tz_localize(None) - day).days
    frame = sample.copy()
    frame.index = frame.index + pd.Timedelta(days=days)
    return frame, tomorrow.tz_convert("UTC"), day


def score(run, actual: pd.Series) -> str:
    points = run.points.order_by("timestamp")
    median = np.array([p.demand for p in points])
    low = np.array([p.confidence_lower for p in points])
    high = np.array([p.confidence_upper for p in points])
    y = actual.to_numpy()
    mape = float(np.mean(np.abs(median - y) / y) * 100)
    return f"MAPE {mape:.2f} %, {np.mean((y >= low) & (y <= high)):.0%} inside the 90 % band"


def main() -> int:
    from accounts.models import Organization
    from cities.models import City
    from cities.sample_data import sample_frame
    from cities.services import observations_upsert
    from forecasts.batch import forecast_batch_process
    from forecasts.models import ForecastRun
    from forecasts.services import ForecastSpec, forecast_request_create
    from jobs.models import Job
    from tests.weather.open_meteo_server import OpenMeteoServer
    from training.models import ModelVersion
    from training.services import model_version_train
    from weather.providers import ProviderError, breaker_for, provider_fetch
    from weather.services import weather_vintage_collect, weather_vintages_collect

    began = time.perf_counter()
    call_command("migrate", verbosity=0)
    frame, start, day = shifted_sample(sample_frame()[["demand_mw", "temperature_c"]])
    end = start + pd.Timedelta(hours=24)
    history, held_back = (
        frame[frame.index < start],
        frame[(frame.index >= start) & (frame.index < end)],
    )
    server = OpenMeteoServer(frame["temperature_c"], start - pd.Timedelta(hours=2), hours=72)
    settings.WEATHER_OPEN_METEO_URL = server.url
    settings.WEATHER_TIMEOUT_SECONDS = (1.0, 1.0)
    settings.WEATHER_BREAKER_RESET_SECONDS = 300
    org = Organization.objects.create(name="Bench", slug="bench")
    cities = {}
    for name in ("Melbourne", "Melbourne (provider down)"):
        city = City.objects.create(
            organization=org,
            name=name,
            country="AU",
            timezone=TZ,
            latitude=-37.81,
            longitude=144.96,
            resolution_minutes=30,
        )
        observations_upsert(city=city, frame=history)
        cities[name] = city
    print(
        f"sample day {day:%a %Y-%m-%d} replayed as tomorrow "
        f"{start.tz_convert(TZ):%a %Y-%m-%d} (local midnight {start:%Y-%m-%d %H:%M}Z); "
        f"history {len(history)} half-hours; Open-Meteo imitation at {server.url}"
    )
    for city in cities.values():
        started = time.perf_counter()
        version = model_version_train(city=city)
        print(
            f"trained {city.name}: v{version.version} {version.algorithm} "
            f"({time.perf_counter() - started:.0f} s)"
        )

    def forecast(city) -> ForecastRun:
        spec = ForecastSpec(city=city, start=start.to_pydatetime(), horizon_hours=24)
        job, _ = forecast_request_create(organization_id=org.pk, user=None, spec=spec)
        forecast_batch_process(wait_seconds=0)
        job.refresh_from_db()
        assert job.state == Job.State.SUCCEEDED, job.error
        return ForecastRun.objects.get(pk=job.result["forecast_run"])

    # 1. Collected weather vintage.
    breaker_for("open-meteo").close()
    vintage = weather_vintage_collect(city=cities["Melbourne"])
    print(
        f"\n1. collected vintage {vintage.pk}: provider {vintage.provider}, issued "
        f"{vintage.issued_at:%Y-%m-%d %H:%M:%S}Z, valid {vintage.valid_from:%Y-%m-%d %H:%M}Z"
        f" .. {vintage.valid_until:%Y-%m-%d %H:%M}Z, {vintage.hours} hours"
    )
    run = forecast(cities["Melbourne"])
    print(
        f"   run {run.pk}: method {run.method}, weather {run.weather} "
        f"(vintage {run.weather_vintage_id}); {score(run, held_back['demand_mw'])}"
    )

    # 2. Provider down: 500s, then timeouts; the breaker opens.
    server.mode = "500"
    down = cities["Melbourne (provider down)"]
    for attempt in range(1, settings.WEATHER_BREAKER_FAIL_MAX + 2):
        if attempt == settings.WEATHER_BREAKER_FAIL_MAX:
            server.mode = "slow"
        started = time.perf_counter()
        try:
            provider_fetch("open-meteo", latitude=-37.81, longitude=144.96, days=2, credentials={})
        except ProviderError as exc:
            print(
                f"   fetch {attempt}: {type(exc).__name__}: {exc.message} "
                f"({time.perf_counter() - started:.2f} s)"
            )
    result = weather_vintages_collect()
    print(
        f"\n2. provider down: beat collection {result}; breaker "
        f"{breaker_for('open-meteo').current_state}; requests the server saw: "
        f"{len(server.requests)}"
    )
    fallback = forecast(down)
    print(
        f"   run {fallback.pk}: method {fallback.method}, weather {fallback.weather}, quality "
        f"{fallback.quality}; note: {fallback.weather_note}\n"
        f"   {score(fallback, held_back['demand_mw'])}"
    )
    server.close()

    # 3. The actuals arrive (the upload service; its signal refreshes the live figures).
    from django.db import transaction

    with transaction.atomic():
        observations_upsert(city=cities["Melbourne"], frame=held_back)
    version = ModelVersion.objects.get(city=cities["Melbourne"], status="active")
    live = version.live_metrics
    print(
        f"\n3. live figures of v{version.version}: MAPE {live.get('mape')} %, coverage "
        f"{live.get('coverage_90')} % on {live.get('points')} points (backtest MAPE "
        f"{version.metrics['model']['mape']:.2f} %, coverage "
        f"{version.metrics['model']['coverage_90']} %); interval shift "
        f"{version.live_calibration.get('shift_mw_by_lead')}"
    )
    print(f"\nbench/weather_vintages.py finished in {time.perf_counter() - began:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
