"""Dispatch solve times: 1 day and 7 days of Victoria 2014 demand, each mode.

    .venv/bin/python bench/dispatch.py [--repeat 30]

Runs the project's own code on a throw-away SQLite database (or DATABASE_URL when set):
migrates it, creates a city with the demo fleet and forecast runs whose median is the
real half-hourly demand (q05/q95 at -/+6 %, the width of the CatBoost model's interval
on the sample), then times, per horizon and mode:

- build: dispatch_inputs_build (forecast rows, fleet rows, availability with pvlib's
  clear sky, budget days) from the database into an LP problem;
- solve: HiGHS time of all lexicographic stages (highspy), and the same with scipy;
- lp: solve_dispatch wall time (matrices, stages, results);
- build + lp: what a worker spends before writing the rows;
- execute: dispatch_run_execute, which also writes the energy-mix rows.

Prints median and p95 in milliseconds as a markdown table.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MODES = {
    "base": ("base", {}),
    "reserve": ("reserve", {}),
    "reserve + policy": ("reserve", {"min_renewable_share": 0.5, "co2_cap": 50_000}),
    "stochastic (3 scenarios)": ("stochastic", {}),
}
HORIZONS = {"1 day": ("2014-01-16", 1), "7 days": ("2014-01-13", 7)}


def setup_django() -> None:
    if not os.environ.get("DATABASE_URL"):
        os.environ["ENERGY_VAR_DIR"] = tempfile.mkdtemp(prefix="bench-dispatch-")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "energy_site.settings")
    # An in-process run serves nobody: a throwaway key (settings refuse to start without one).
    os.environ.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(50))
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def forecast_runs(city, frame) -> dict:
    import pandas as pd

    from forecasts.models import Forecast, ForecastRun

    runs = {}
    local = frame.index.tz_convert(city.timezone)
    for label, (first_day, days) in HORIZONS.items():
        start = pd.Timestamp(first_day).tz_localize(city.timezone)
        end = start + pd.Timedelta(days=days)
        part = frame[(local >= start) & (local < end)]
        run = ForecastRun.objects.create(
            city=city, method="bench", start=part.index[0], horizon_hours=24 * days,
            quantiles=[0.05, 0.5, 0.95],
        )  # fmt: skip
        Forecast.objects.bulk_create(
            Forecast(
                run=run, city=city, timestamp=ts, demand=mw, confidence_lower=mw * 0.94,
                confidence_upper=mw * 1.06,
                quantiles={"0.05": mw * 0.94, "0.5": mw, "0.95": mw * 1.06},
            )
            for ts, mw in part["demand_mw"].items()
        )  # fmt: skip
        runs[label] = run
    return runs


def percentiles(samples: list[float]) -> tuple[float, float]:
    values = np.asarray(samples) * 1000
    return float(np.median(values)), float(np.percentile(values, 95))


def measure(forecast_run, mode: str, policy: dict, repeat: int) -> dict:
    from optimization.dispatch_inputs import dispatch_inputs_build
    from optimization.lp import solve_dispatch
    from optimization.models import DispatchRun
    from optimization.services import dispatch_run_execute

    samples: dict[str, list[float]] = {
        k: [] for k in ("build", "solve", "scipy", "lp", "build+lp", "execute")
    }
    for attempt in range(repeat + 2):  # two warm-ups (imports, caches, first queries)
        started = time.perf_counter()
        inputs = dispatch_inputs_build(forecast_run, mode=mode, policy=policy)
        built = time.perf_counter()
        solution = solve_dispatch(inputs.problem)
        solved = time.perf_counter()
        by_scipy = solve_dispatch(inputs.problem, backend="scipy")
        assert solution.is_feasible, solution.reason
        assert abs(by_scipy.objective - solution.objective) <= 1e-6 * abs(solution.objective)
        run = DispatchRun.objects.create(forecast_run=forecast_run, mode=mode, policy=policy)
        executed = time.perf_counter()
        dispatch_run_execute(run)
        done = time.perf_counter()
        if attempt < 2:
            continue
        samples["build"].append(built - started)
        samples["solve"].append(solution.solve_seconds)
        samples["scipy"].append(by_scipy.solve_seconds)
        samples["lp"].append(solved - built)
        samples["build+lp"].append(solved - started)
        samples["execute"].append(done - executed)
    return {
        "intervals": inputs.problem.intervals,
        "status": solution.status,
        **{k: percentiles(v) for k, v in samples.items()},
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    setup_django()
    import highspy
    import scipy

    from accounts.models import Organization
    from cities.models import City
    from cities.sample_data import sample_frame
    from optimization.fleet import demo_fleet_create

    Organization.objects.filter(slug="bench-dispatch").delete()
    org = Organization.objects.create(name="Bench dispatch", slug="bench-dispatch")
    city = City.objects.create(
        organization=org, name="Melbourne", country="AU", timezone="Australia/Melbourne",
        latitude=-37.81, longitude=144.96, resolution_minutes=30,
    )  # fmt: skip
    demo_fleet_create(city)
    runs = forecast_runs(city, sample_frame())
    database = "PostgreSQL" if os.environ.get("DATABASE_URL") else "SQLite"
    print(
        f"dispatch bench: {args.repeat} repetitions, demo fleet (7 sources, 1 battery), "
        f"{database}, highspy {highspy.Highs().version()}, scipy {scipy.__version__}, "
        f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}"
    )
    print(
        "\n| horizon | mode | intervals | build from DB | HiGHS solve (all stages) "
        "| scipy solve | solve_dispatch | build + solve_dispatch | execute incl. writes |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for horizon, run in runs.items():
        for label, (mode, policy) in MODES.items():
            result = measure(run, mode, policy, args.repeat)
            cells = " | ".join(
                f"{result[k][0]:.1f} / {result[k][1]:.1f}"
                for k in ("build", "solve", "scipy", "lp", "build+lp", "execute")
            )
            print(f"| {horizon} | {label} | {result['intervals']} | {cells} |")
    print("\nEach cell: median / p95 in ms.")
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    org.delete()
    return 0


if __name__ == "__main__":
    sys.exit(main())
