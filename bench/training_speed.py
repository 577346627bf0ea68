"""Training and inference speed on the Victoria 2014 year, with the service's own code.

Runs in a throw-away SQLite database (embedded defaults): loads the sample year into
a city, runs the whole training job (training.services.model_version_train: every
model family backtested, selection, calibration, final fit, registration), then
times a day-ahead and a week-ahead forecast through training.inference.forecast_many
(the batched inference the workers run); the first call also loads the artifact.

    .venv/bin/python bench/training_speed.py
"""

from __future__ import annotations

import os
import secrets
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
WORK = tempfile.mkdtemp(prefix="ef-speed-")
for name in ("DATABASE_URL", "REDIS_URL", "CACHE_URL"):
    os.environ.pop(name, None)
os.environ.update(
    ENERGY_VAR_DIR=WORK, DJANGO_SETTINGS_MODULE="energy_site.settings", LOG_LEVEL="WARNING"
)
# An in-process run serves nobody: a throwaway key (settings refuse to start without one).
os.environ.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(50))

import django  # noqa: E402

django.setup()

import pandas as pd  # noqa: E402
from django.core.management import call_command  # noqa: E402


def main() -> int:
    from accounts.models import Organization
    from cities.models import City
    from cities.sample_data import sample_frame
    from cities.services import observations_upsert
    from training.artifacts import artifact_cache_clear
    from training.inference import ForecastRequest, forecast_many
    from training.services import model_version_train

    call_command("migrate", verbosity=0)
    org = Organization.objects.create(name="Bench", slug="bench")
    city = City.objects.create(
        organization=org,
        name="Melbourne",
        country="AU",
        timezone="Australia/Melbourne",
        latitude=-37.81,
        longitude=144.96,
        resolution_minutes=30,
    )
    # The upload service, so the city's observation summary is right as in production.
    observations_upsert(city=city, frame=sample_frame()[["demand_mw", "temperature_c"]])
    started = time.perf_counter()
    version = model_version_train(city=city)
    job_seconds = time.perf_counter() - started
    metrics = version.metrics
    days = metrics["window"]["days"]
    print(f"training job (all families, backtest {days} days): {job_seconds:.1f} s")
    for name, seconds in metrics["fit_seconds"].items():
        print(f"  {name:<22} mean fit {seconds:6.1f} s")
    print(
        f"  selected: {version.algorithm}; MAPE {metrics['model']['mape']:.2f} %, "
        f"coverage {metrics['model']['coverage_90']:.1f} %"
    )
    # Why each variant's model was chosen (stored on the version, as the API shows it).
    for variant, figures in metrics.get("variants", {}).items():
        print(f"  {variant}: {figures.get('reason', '')}")

    artifact_cache_clear()
    # Local midnights of 31 and 25 December: a day-ahead and a week-ahead request (the
    # week has observed temperature, so it takes the multi-lead model after day 1).
    for label, start, hours in (
        ("one day-ahead forecast", pd.Timestamp("2014-12-30 13:00", tz="UTC"), 24),
        ("one week-ahead forecast", pd.Timestamp("2014-12-24 13:00", tz="UTC"), 168),
    ):
        request = ForecastRequest(
            key=1, city=city, start=start, horizon_hours=hours, quantiles=(0.05, 0.5, 0.95)
        )
        began = time.perf_counter()
        (result,) = forecast_many([request])
        cold = time.perf_counter() - began
        timings = []
        for _ in range(20):
            began = time.perf_counter()
            forecast_many([request])
            timings.append(time.perf_counter() - began)
        timings.sort()
        print(
            f"{label} ({result.method}, {len(result.index)} points): "
            f"first {cold * 1000:.0f} ms, "
            f"warm median {timings[10] * 1000:.0f} ms, max {timings[-1] * 1000:.0f} ms"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
