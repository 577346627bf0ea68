"""Forecast batch throughput, in-process: the function the Celery task calls, timed.

Creates its own database (``<DATABASE_URL's name>_batchbench`` on the same PostgreSQL,
dropped at the end; SQLite in a temporary directory without DATABASE_URL), loads the
shipped Victoria 2014 sample into Melbourne and three synthetic cities derived from it
(demand scaled; one has no temperature, so its forecasts take the no-weather variant),
trains Melbourne once (the service's own ``model_version_train``, fast settings: the
CatBoost families and the seasonal naive, 14 + 14 backtest days) and gives each
synthetic city a model version of its own with the same artifact (one model per city,
as in production, without four trainings).

Then, on identical job sets (N day-ahead jobs: local midnight, 24 hours, different days
per city), it runs ``forecasts.batch.forecast_batch_process(limit=B, wait_seconds=0)``
until the queue is empty, for B = 1 and B = FORECAST_BATCH_SIZE (32), and prints
runs/s, the ratio, and where the time went (claim, observations, weather, features,
predict, write, finish; exclusive seconds, nested calls subtracted). ``--profile``
adds a cProfile of the batched run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/energy_forecast \\
        .venv/bin/python bench/batch_throughput.py [--jobs 320] [--profile] \\
        [--model /tmp/batch-model.pkl] [--cities 16] [--order day]

``--model`` keeps the trained model in a file and reads it back on the next run (no
training); ``--cities`` adds synthetic cities; ``--order day`` creates the jobs day by
day instead of city by city, so that each batch holds a few requests of every city.

No network, no broker: the jobs are created with jobs.services.job_create and never
sent; the workers' claim/compute/write/finish path is what is timed.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
WORK = tempfile.mkdtemp(prefix="ef-batch-")
BASE_URL = os.environ.get("DATABASE_URL", "")
for name in ("REDIS_URL", "CACHE_URL"):
    os.environ.pop(name, None)
if BASE_URL:
    parsed = urlparse(BASE_URL)
    BENCH_DB = parsed.path.lstrip("/") + "_batchbench"
    os.environ["DATABASE_URL"] = urlunparse(parsed._replace(path="/" + BENCH_DB))
os.environ.update(
    ENERGY_VAR_DIR=WORK,
    DJANGO_SETTINGS_MODULE="energy_site.settings",
    LOG_LEVEL="WARNING",
    TRAINING_BACKTEST_DAYS="14",
    TRAINING_CALIBRATION_DAYS="14",
    TRAINING_FAMILIES="catboost,catboost-no-weather,seasonal-naive",
)
os.environ.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(50))


def _database_create() -> None:
    if not BASE_URL:
        return
    import psycopg2

    parsed = urlparse(BASE_URL)
    admin = psycopg2.connect(urlunparse(parsed._replace(path="/postgres")))
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}"')
        cursor.execute(f'CREATE DATABASE "{BENCH_DB}"')
    admin.close()


def _database_drop() -> None:
    if not BASE_URL:
        return
    import psycopg2
    from django.db import connections

    connections.close_all()
    parsed = urlparse(BASE_URL)
    admin = psycopg2.connect(urlunparse(parsed._replace(path="/postgres")))
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}"')
    admin.close()


_database_create()

import django  # noqa: E402

django.setup()

import pandas as pd  # noqa: E402
from django.core.management import call_command  # noqa: E402

# Synthetic cities: (name, demand scale, keeps temperature).
CITIES = [
    ("Melbourne", 1.0, True),
    ("Synthetic A (0.6 x Victoria)", 0.6, True),
    ("Synthetic B (1.4 x Victoria)", 1.4, True),
    ("Synthetic C (0.8 x Victoria, no temperature)", 0.8, False),
]

# Phases: (module, attribute, phase). Whatever of these exists is wrapped; a function
# nested in another has its time subtracted from its caller's (exclusive times).
PHASES = [
    ("forecasts.batch", "job_claim_batch", "claim"),
    ("forecasts.batch", "forecast_spec_from_job", "claim"),
    ("forecasts.batch", "forecast_specs_from_jobs", "claim"),
    ("forecasts.batch", "jobs_claim_queued", "claim"),
    ("forecasts.batch", "_store_and_finish", "finish"),
    ("training.inference", "observation_frame_for_city", "observations"),
    ("training.inference", "observation_frames_for_windows", "observations"),
    ("training.inference", "weather_for_forecast", "weather"),
    ("training.inference", "weather_for_forecasts", "weather"),
    ("training.inference", "artifact_load", "model load"),
    ("training.families.gradient_boosting", "build_feature_frame", "features"),
    ("training.families.gradient_boosting", "feature_frames_for_items", "features"),
    ("training.catboost_model:QuantileModel", "predict_raw", "predict"),
    ("forecasts.batch", "forecast_run_store", "write"),
    ("forecasts.batch", "forecast_runs_store", "write"),
    ("forecasts.batch", "_forecast_job_finish", "finish"),
    ("forecasts.batch", "job_succeed", "finish"),
    ("forecasts.batch", "jobs_succeed_many", "finish"),
    ("forecasts.batch", "job_fail", "finish"),
]


class PhaseTimer:
    def __init__(self):
        self.seconds: dict[str, float] = defaultdict(float)
        self._stack: list[list[float]] = []  # [child seconds] per open call

    def wrap(self, function, phase):
        def timed(*args, **kwargs):
            self._stack.append([0.0])
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                spent = time.perf_counter() - started
                children = self._stack.pop()[0]
                self.seconds[phase] += spent - children
                if self._stack:
                    self._stack[-1][0] += spent

        return timed

    def install(self) -> None:
        import importlib

        for module_name, attribute, phase in PHASES:
            module_name, _, class_name = module_name.partition(":")
            try:
                owner = importlib.import_module(module_name)
            except ImportError:
                continue
            if class_name:
                owner = getattr(owner, class_name)
            if hasattr(owner, attribute):
                setattr(owner, attribute, self.wrap(getattr(owner, attribute), phase))


def city_list(count: int) -> list[tuple[str, float, bool]]:
    """The four cities above, then more synthetic ones (every fourth without temperature)."""
    cities = list(CITIES[:count])
    for i in range(len(cities), count):
        scale = round(0.5 + 0.07 * i, 2)
        cities.append((f"Synthetic {i} ({scale} x Victoria)", scale, i % 4 != 3))
    return cities


def setup(n_jobs: int, model_path: str = "", n_cities: int = 4, order: str = "city"):
    from accounts.models import Organization
    from cities.models import City
    from cities.sample_data import sample_frame
    from cities.services import observations_upsert
    from training.artifacts import artifact_save
    from training.models import ModelVersion
    from training.services import model_version_train

    call_command("migrate", verbosity=0)
    org = Organization.objects.create(name="Bench", slug="bench")
    sample = sample_frame()[["demand_mw", "temperature_c"]]
    cities = []
    for name, scale, with_temperature in city_list(n_cities):
        city = City.objects.create(
            organization=org,
            name=name,
            country="AU",
            timezone="Australia/Melbourne",
            latitude=-37.81,
            longitude=144.96,
            resolution_minutes=30,
        )
        # The cities past the first four get the second half-year only (set-up time):
        # every forecast here reads 29 days of history.
        frame = (sample if len(cities) < len(CITIES) else sample.loc["2014-07-01":]).copy()
        frame["demand_mw"] = frame["demand_mw"] * scale
        if not with_temperature:
            frame = frame[["demand_mw"]]
        observations_upsert(city=city, frame=frame)
        cities.append(city)
    from training.artifacts import artifact_load, artifact_loads

    if model_path and Path(model_path).exists():
        # A model this script trained before (same code, same settings), to iterate fast.
        model = artifact_loads(Path(model_path).read_bytes())
        trained = ModelVersion.objects.create(
            city=cities[0],
            algorithm=model.variants["weather"].algorithm,
            version=1,
            quantiles=list(model.quantiles),
            status=ModelVersion.Status.ACTIVE,
        )
        artifact_save(trained, model)
        print(f"model of {cities[0].name} read from {model_path} (trained by an earlier run)")
    else:
        started = time.perf_counter()
        trained = model_version_train(city=cities[0])
        seconds = time.perf_counter() - started
        print(f"trained {cities[0].name} once in {seconds:.1f} s: {trained.algorithm}")
        model = artifact_load(trained)
        if model_path:
            with trained.artifact.open("rb") as handle:
                Path(model_path).write_bytes(handle.read())
    for city in cities[1:]:
        version = ModelVersion.objects.create(
            city=city,
            algorithm=trained.algorithm,
            version=1,
            features=trained.features,
            quantiles=trained.quantiles,
            status=ModelVersion.Status.ACTIVE,
        )
        artifact_save(version, model)
    if trained.status != ModelVersion.Status.ACTIVE:
        raise SystemExit(f"the trained version is {trained.status}, not active")
    per_city = -(-n_jobs // len(cities))
    # Day-ahead from each local midnight of the days before the sample's last one.
    days = pd.date_range(end="2014-12-30", periods=per_city, freq="D", tz="Australia/Melbourne")
    specs = []
    for city in cities:
        for day in days:
            specs.append((city, day.tz_convert("UTC")))
    if order == "day":  # each batch takes a few days of every city, not days of one city
        specs.sort(key=lambda spec: (spec[1], spec[0].pk))
    return cities, specs[:n_jobs]


def jobs_create(specs) -> None:
    from jobs.models import Job
    from jobs.services import job_create, request_key_for
    from training.quantiles import DEFAULT_QUANTILES

    for city, start in specs:
        params = {
            "city": city.pk,
            "start": start.isoformat(),
            "horizon_hours": 24,
            "quantiles": list(DEFAULT_QUANTILES),
        }
        job_create(
            organization=city.organization,
            user=None,
            kind=Job.Kind.FORECAST,
            params=params,
            request_key=request_key_for(city.organization_id, Job.Kind.FORECAST, params),
        )


def reset() -> None:
    from forecasts.models import ForecastRun
    from jobs.models import Job

    ForecastRun.objects.all().delete()
    Job.objects.all().delete()


def run(specs, batch_size: int, timer: PhaseTimer, profile: bool = False) -> dict:
    from forecasts.batch import forecast_batch_process
    from forecasts.models import Forecast, ForecastRun
    from jobs.models import Job
    from training.artifacts import artifact_cache_clear

    reset()
    jobs_create(specs)
    artifact_cache_clear()  # both modes load their models once, cold
    timer.seconds.clear()
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    started = time.perf_counter()
    batches = 0
    while forecast_batch_process(limit=batch_size, wait_seconds=0):
        batches += 1
    elapsed = time.perf_counter() - started
    if profiler is not None:
        profiler.disable()
    states = dict(Job.objects.values_list("state").annotate(n=django.db.models.Count("pk")))
    runs = ForecastRun.objects.count()
    if states != {Job.State.SUCCEEDED: len(specs)} or runs != len(specs):
        raise SystemExit(f"batch size {batch_size}: jobs {states}, runs {runs}")
    points = {
        (city, start, ts): (demand, lower, upper)
        for city, start, ts, demand, lower, upper in Forecast.objects.values_list(
            "city_id", "run__start", "timestamp", "demand", "confidence_lower", "confidence_upper"
        )
    }
    kinds = (
        ForecastRun.objects.values_list("quality", "method", "weather")
        .annotate(n=django.db.models.Count("pk"))
        .order_by("-n")
    )
    return {
        "kinds": list(kinds),
        "elapsed": elapsed,
        "batches": batches,
        "runs": runs,
        "points": points,
        "phases": dict(timer.seconds),
        "profiler": profiler,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=320)
    parser.add_argument("--cities", type=int, default=4, help="cities (4; more are synthetic)")
    parser.add_argument(
        "--order",
        choices=["city", "day"],
        default="city",
        help="job order: all days of one city, then the next (city), or day by day (day)",
    )
    parser.add_argument("--profile", action="store_true", help="cProfile the batched run")
    parser.add_argument(
        "--model",
        default="",
        help="pickle file: reuse the model trained by an earlier run (written if missing)",
    )
    args = parser.parse_args()
    from django.conf import settings
    from django.db import connection

    batch = settings.FORECAST_BATCH_SIZE
    try:
        cities, specs = setup(args.jobs, args.model, args.cities, args.order)
        timer = PhaseTimer()
        timer.install()
        print(
            f"{len(specs)} day-ahead jobs (24 h, 48 points) over {len(cities)} cities, "
            f"database {connection.vendor}, in-process forecast_batch_process"
        )
        results = {}
        for size in (1, batch):
            results[size] = run(specs, size, timer, profile=args.profile and size == batch)
        print()
        phases = ["claim", "observations", "weather", "model load", "features", "predict"]
        phases += ["write", "finish"]
        header = f"{'batch size':>10} {'batches':>7} {'seconds':>8} {'runs/s':>8}"
        print(header + "".join(f" {p:>12}" for p in [*phases, "other"]))
        for size, r in results.items():
            other = r["elapsed"] - sum(r["phases"].values())
            cells = [r["phases"].get(p, 0.0) for p in phases] + [other]
            print(
                f"{size:>10} {r['batches']:>7} {r['elapsed']:>8.2f} "
                f"{r['runs'] / r['elapsed']:>8.1f}"
                + "".join(f" {c * 1000 / r['runs']:>9.2f} ms" for c in cells)
            )
        print("(phase columns: exclusive milliseconds per run)")
        one, many = results[1], results[batch]
        speedup = (many["runs"] / many["elapsed"]) / (one["runs"] / one["elapsed"])
        print(
            f"\nbatch {batch}: {many['runs'] / many['elapsed']:.1f} runs/s; "
            f"batch 1: {one['runs'] / one['elapsed']:.1f} runs/s; ratio {speedup:.2f}x "
            f"({len(many['points'])} points written per mode)"
        )
        if many["points"].keys() != one["points"].keys():
            raise SystemExit("the two modes wrote different points")
        worst = max(
            abs(a - b)
            for key, values in many["points"].items()
            for a, b in zip(values, one["points"][key], strict=True)
        )
        print(f"largest difference between the two modes' points: {worst:.3g} MW")
        print(
            "runs by quality, method, weather: "
            + "; ".join(f"{q} {m} {w}: {n}" for q, m, w, n in many["kinds"])
        )
        if many["profiler"] is not None:
            import pstats

            print("\ncProfile of the batched run (top 25 by cumulative time):")
            pstats.Stats(many["profiler"]).sort_stats("cumulative").print_stats(25)
    finally:
        _database_drop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
