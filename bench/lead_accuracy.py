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
"+ live calibration" adds what the service adds between retrains: the interval shift
by lead day that forecasts/live_accuracy.py tracks from the issued forecasts whose
actuals have arrived (training/calibration.py: lead_day_shift, on q05/q50/q95 as the
default runs carry), from ``--warmup-days`` before the window on; the seasonal naive
row gives the skill. A second table repeats the coverage without the targets in the
Christmas period (24 December .. 2 January, training/calendar.py: CHRISTMAS_PERIOD),
which the one-year sample holds no example of.

    .venv/bin/python bench/lead_accuracy.py [--window 2014-11-06,2014-12-25] [--refit-days 14]
        [--holdout-folds 4] [--later-rate 0.05]
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
from training import later_days  # noqa: E402
from training.backtest import forecast_input, window_between  # noqa: E402
from training.calendar import christmas_period_flags  # noqa: E402
from training.calibration import (  # noqa: E402
    ADAPT_RATE,
    LATER_DAYS_ADAPT_RATE,
    lead_day_shift,
)
from training.catboost_model import model_params  # noqa: E402
from training.deployed import deployed_model_fit  # noqa: E402
from training.evaluation import NO_WEATHER, WEATHER, evaluation_run  # noqa: E402
from training.families.base import QUANTILES  # noqa: E402
from training.families.naive import SeasonalNaiveFamily  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
from accuracy import MELBOURNE  # noqa: E402

LEADS = range(1, 8)
LIVE_DAYS_NS = pd.Timedelta(days=56).value  # forecasts/live_accuracy.py: LIVE_DAYS
FAMILIES = {"catboost", "catboost-no-weather", "vanilla-regression", "seasonal-naive"}


def _score(errors: dict, inside: dict) -> str:
    return "  ".join(
        f"{np.mean(np.concatenate(errors[k])):5.2f} % {np.mean(np.concatenate(inside[k])):4.0%}"
        for k in LEADS
    )


def _coverage(inside: dict, keep: list) -> str:
    return "  ".join(
        f"{np.mean(np.concatenate(inside[k])[np.concatenate(keep[k])]):12.0%}" for k in LEADS
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--window", default="2014-11-06,2014-12-25", help="first,last issue day")
    parser.add_argument("--refit-days", type=int, default=14)
    parser.add_argument(
        "--later-rate",
        type=float,
        default=LATER_DAYS_ADAPT_RATE,
        help="adaptation rate of the live calibration at lead days 2..7 (experiments)",
    )
    parser.add_argument(
        "--holdout-folds",
        type=int,
        default=later_days.HOLDOUT_FOLDS,
        help="holdouts the bands of days 2..7 are calibrated on (experiments)",
    )
    parser.add_argument(
        "--warmup-days",
        type=int,
        default=28,
        help="days issued before the window, not scored, so the live calibration has a past",
    )
    args = parser.parse_args()
    later_days.HOLDOUT_FOLDS = args.holdout_folds
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
    band = [low, mid, high]
    names = ("deployed + live calibration", "deployed", "day-ahead model only", "seasonal naive")
    errors = {(v, n): {k: [] for k in LEADS} for v in (WEATHER, NO_WEATHER) for n in names}
    inside = {key: {k: [] for k in LEADS} for key in errors}
    # Per variant and lead, parallel to ``inside``: the targets outside the Christmas period.
    ordinary = {(v, k): [] for v in (WEATHER, NO_WEATHER) for k in LEADS}
    # What the service's live calibration has seen (forecasts/live_accuracy.py): per
    # variant and lead, the issued q05/q50/q95 without shift, the actuals, the targets.
    seen = {(v, k): [] for v in (WEATHER, NO_WEATHER) for k in LEADS}
    naive = SeasonalNaiveFamily().fit(history, MELBOURNE)
    fit_seconds = []
    warmup_start = first_day - pd.Timedelta(days=args.warmup_days)
    for day in pd.date_range(warmup_start, last_day, freq="D"):
        origin = pd.Timestamp(day, tz=tz).tz_convert("UTC")
        if (day - warmup_start).days % args.refit_days == 0:
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
        scored = day >= first_day
        for variant, known in ((WEATHER, ex_post), (NO_WEATHER, blind)):
            deployed_values = deployed.predict(known, targets, origin)
            assert deployed.variant_for(known, targets) == variant
            live = deployed_values.copy()
            for k in LEADS:
                rows = lead == k
                past = [r for r in seen[variant, k] if r[2] < origin.value]
                past = [r for r in past if r[2] >= origin.value - LIVE_DAYS_NS]
                if past:
                    base = np.vstack([r[0] for r in past])
                    truth = np.concatenate([r[1] for r in past])
                    when = np.concatenate([r[3] for r in past])
                    rate = ADAPT_RATE if k == 1 else args.later_rate
                    shift = lead_day_shift(base, truth, when, (0.05, 0.5, 0.95), k, rate)
                    live[np.ix_(rows, band)] = np.sort(
                        deployed_values[np.ix_(rows, band)] + shift, 1
                    )
                # This day's issue joins the record day by day, as its actuals arrive.
                for target_day in np.unique(local[rows]):
                    at = rows & (local == target_day)
                    seen[variant, k].append(
                        (
                            deployed_values[np.ix_(at, band)],
                            actual[at],
                            targets[at][-1].value,
                            np.full(at.sum(), pd.Timestamp(target_day).value),
                        )
                    )
            if not scored:
                continue
            for k in LEADS:
                ordinary[variant, k].append(~christmas_period_flags(local[lead == k]))
            models = {
                names[0]: live,
                names[1]: deployed_values,
                names[2]: day_ahead_only.predict(known, targets, origin),
                names[3]: naive.predict(known, targets, origin),
            }
            for name, values in models.items():
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
        f"{first_day:%Y-%m-%d} .. {last_day:%Y-%m-%d} (after {args.warmup_days} warm-up days "
        f"for the live calibration, not scored), refit every {args.refit_days} days "
        f"({len(fit_seconds)} fits, {np.mean(fit_seconds):.1f} s mean); selected: "
        f"{deployed.summary()}; days 2-7: "
        f"{ {name: v.candidate for name, v in deployed.extended.items()} }"
        "\nMAPE and 90 % interval coverage by lead day:"
    )
    print(f"{'':<42}" + "  ".join(f"{'day ' + str(k):>12}" for k in LEADS))
    for (variant, name), by_lead in errors.items():
        label = f"{variant.replace('_', ' ')}, {name}"
        print(f"{label:<42}{_score(by_lead, inside[variant, name])}")
    print(
        "\n90 % interval coverage by lead day, targets in the Christmas period "
        "(24 December .. 2 January) left out:"
    )
    for (variant, name), by_lead in inside.items():
        label = f"{variant.replace('_', ' ')}, {name}"
        keep = {k: ordinary[variant, k] for k in LEADS}
        print(f"{label:<42}{_coverage(by_lead, keep)}")
    for variant in (WEATHER, NO_WEATHER):
        skill = [
            1
            - np.mean(np.concatenate(errors[variant, names[0]][k]))
            / np.mean(np.concatenate(errors[variant, names[3]][k]))
            for k in LEADS
        ]
        print(
            f"{variant.replace('_', ' ')}: skill of the live-calibrated forecast over the "
            f"seasonal naive (1 - MAPE ratio) by lead day: " + ", ".join(f"{v:+.2f}" for v in skill)
        )
    print(f"\nbench/lead_accuracy.py finished in {time.perf_counter() - began:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
