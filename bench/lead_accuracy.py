"""Week-ahead accuracy by lead day on the shipped Victoria 2014 data.

For each local day D of the window, a forecast is issued at D's local midnight for the
seven days D .. D+6, from demand observed before it, and scored by lead day (day 1 =
D). The deployed model (training.deployed) is refit every ``--refit-days`` on all data
before the refit point, with the families selected by one evaluation (the service's
``evaluation_run``) of the 28 days before the window; targets after the first day go to
what training/later_days.py fits for them (with weather a multi-lead model, without it
the day-ahead CatBoost with a band calibrated at those leads). The same fit without
them shows what the service did before: the day-ahead model at every lead. Weather
is ex-post (observed temperature as a perfect forecast); "no weather" hides every
temperature from the origin on. Days whose week runs past the data are not issued.

    .venv/bin/python bench/lead_accuracy.py [--window 2014-11-06,2014-12-25] [--refit-days 14]
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "energy_site.settings")
# An in-process run serves nobody: a throwaway key (settings refuse to start without one).
os.environ.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(50))
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from cities.sample_data import sample_frame  # noqa: E402
from training.backtest import forecast_input, window_between  # noqa: E402
from training.catboost_model import model_params  # noqa: E402
from training.deployed import deployed_model_fit  # noqa: E402
from training.evaluation import NO_WEATHER, WEATHER, evaluation_run  # noqa: E402
from training.families.base import QUANTILES  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
from accuracy import MELBOURNE  # noqa: E402

LEADS = range(1, 8)
FAMILIES = {"catboost", "catboost-no-weather", "vanilla-regression", "seasonal-naive"}


def _score(errors: dict, inside: dict) -> str:
    return "  ".join(
        f"{np.mean(np.concatenate(errors[k])):5.2f} % {np.mean(np.concatenate(inside[k])):4.0%}"
        for k in LEADS
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--window", default="2014-11-06,2014-12-25", help="first,last issue day")
    parser.add_argument("--refit-days", type=int, default=14)
    args = parser.parse_args()
    began = time.perf_counter()
    tz = MELBOURNE.timezone
    history = sample_frame()
    first_day, last_day = (pd.Timestamp(d) for d in args.window.split(","))
    window_start = pd.Timestamp(first_day, tz=tz).tz_convert("UTC")
    evaluation = evaluation_run(
        history[history.index < window_start],
        MELBOURNE,
        window=window_between(
            str((first_day - pd.Timedelta(days=28)).date()),
            str((first_day - pd.Timedelta(days=1)).date()),
            MELBOURNE,
        ),
        params=model_params(),
        calibration_days=28,
        refit_days=7,
        only=FAMILIES,
    )
    low, mid, high = (QUANTILES.index(q) for q in (0.05, 0.5, 0.95))
    names = ("deployed", "day-ahead model only")
    errors = {(v, n): {k: [] for k in LEADS} for v in (WEATHER, NO_WEATHER) for n in names}
    inside = {key: {k: [] for k in LEADS} for key in errors}
    fit_seconds = []
    for day in pd.date_range(first_day, last_day, freq="D"):
        origin = pd.Timestamp(day, tz=tz).tz_convert("UTC")
        if (day - first_day).days % args.refit_days == 0:
            started = time.perf_counter()
            deployed = deployed_model_fit(evaluation, history[history.index < origin], MELBOURNE)
            fit_seconds.append(time.perf_counter() - started)
            day_ahead_only = replace(deployed, extended={})
        end = pd.Timestamp(day + pd.Timedelta(days=7), tz=tz).tz_convert("UTC")
        targets = history.index[(history.index >= origin) & (history.index < end)]
        actual = history["demand_mw"].reindex(targets).to_numpy()
        local = targets.tz_convert(tz).tz_localize(None).normalize()
        lead = (local - day).days.to_numpy() + 1
        ex_post = forecast_input(history, origin, end, 35)
        blind = ex_post.assign(temperature_c=ex_post["temperature_c"].where(ex_post.index < origin))
        for variant, known in ((WEATHER, ex_post), (NO_WEATHER, blind)):
            for name, model in zip(names, (deployed, day_ahead_only), strict=True):
                values = model.predict(known, targets, origin)
                assert model.variant_for(known, targets) == variant
                for k in LEADS:
                    rows = lead == k
                    errors[variant, name][k].append(
                        np.abs(values[rows, mid] - actual[rows]) / actual[rows] * 100
                    )
                    inside[variant, name][k].append(
                        (actual[rows] >= values[rows, low]) & (actual[rows] <= values[rows, high])
                    )
    print(
        f"Victoria 2014, week-ahead forecasts issued at local midnight of each day "
        f"{first_day:%Y-%m-%d} .. {last_day:%Y-%m-%d}, refit every {args.refit_days} days "
        f"({len(fit_seconds)} fits, {np.mean(fit_seconds):.1f} s mean); selected: "
        f"{deployed.summary()}; days 2-7: "
        f"{ {name: v.candidate for name, v in deployed.extended.items()} }"
        "\nMAPE and 90 % interval coverage by lead day:"
    )
    print(f"{'':<34}" + "  ".join(f"{'day ' + str(k):>12}" for k in LEADS))
    for (variant, name), by_lead in errors.items():
        label = f"{variant.replace('_', ' ')}, {name}"
        print(f"{label:<34}{_score(by_lead, inside[variant, name])}")
    print(f"\nbench/lead_accuracy.py finished in {time.perf_counter() - began:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
