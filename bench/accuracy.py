"""Day-ahead accuracy on the shipped Victoria 2014 data (issue 3 protocol).

Test = the last 8 weeks (local days 2014-11-06 .. 2014-12-31). For each day D the
forecast is made at D's local midnight from data before it, with D's observed
temperature as a perfect weather forecast ("ex-post"); models are refit weekly on
all data before the refit point; intervals are calibrated on the 28 days of
out-of-sample forecasts before D. It runs the project's own code
(training.evaluation.evaluation_run: the function training uses to score a model
version) and prints one row per model family, the ensemble and the selections.

    .venv/bin/python bench/accuracy.py [--iterations N] [--only a,b] [--window FIRST,LAST]
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import time
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "energy_site.settings")
# An in-process run serves nobody: a throwaway key (settings refuse to start without one).
os.environ.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(50))
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from cities.sample_data import sample_frame  # noqa: E402
from training.backtest import (  # noqa: E402
    calibration_days_for,
    forecast_input,
    forecast_scores,
    local_days_before,
    window_between,
)
from training.catboost_model import DEFAULT_ITERATIONS, model_params  # noqa: E402
from training.deployed import deployed_model_fit  # noqa: E402
from training.evaluation import NO_WEATHER, WEATHER, evaluation_run  # noqa: E402
from training.families.base import QUANTILES  # noqa: E402

MELBOURNE = SimpleNamespace(
    pk=None, name="Melbourne", timezone="Australia/Melbourne", country="AU", resolution_minutes=30
)
LABELS = {
    "seasonal-naive": "seasonal naive (one week back)",
    "mstl-ets": "MSTL(48, 336) + AutoETS, no weather",
    "vanilla-regression": "Tao Hong's vanilla regression, ex-post",
    "catboost": "CatBoost MultiQuantile, ex-post weather",
    "catboost-no-weather": "CatBoost MultiQuantile, no weather",
}


def _parse_value(text: str):
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _print_daily_errors(evaluation, variant: str, window) -> None:
    """Where the selected candidate's error comes from, day by day (local days)."""
    candidate = evaluation.selected(variant)
    reference = evaluation.forecasts[candidate.members[0]]
    origins = reference.row_origins_ns()
    in_window = (origins >= window.start.value) & (origins < window.end.value)
    actual = reference.actual[in_window]
    median = candidate.calibrated[:, QUANTILES.index(0.5)]
    days = reference.times[in_window].tz_convert(MELBOURNE.timezone).tz_localize(None).normalize()
    daily = pd.Series(np.abs(median - actual) / actual * 100, index=days).groupby(level=0).mean()
    christmas = (daily.index.month == 12) & (daily.index.day >= 24)
    worst = ", ".join(f"{d:%d %b} {v:.1f}" for d, v in daily.nlargest(8).items())
    rest = f"{daily[~christmas].mean():.2f} %" if (~christmas).any() else "-"
    week = f"{daily[christmas].mean():.2f} %" if christmas.any() else "-"
    print(
        f"\n{variant.replace('_', ' ')} ({candidate.name}) MAPE by local day: "
        f"24-31 December {week}, the other days {rest}\n  worst days (%): {worst}"
    )


def weekly_selection_scores(
    history, params, first_day, last_day, refit_days, backtest_days: int = 28
) -> dict:
    """The test weeks scored as the service selects: no hindsight.

    The issue-3 table selects each variant's candidate on the test weeks themselves. The
    service cannot: at each weekly training it scores the candidates on its backtest
    window, the 28 local days before (training/services.py:_windows_for, the settings'
    defaults), and serves the winner for the next ``refit_days``. One backtest of every
    family from 28 + ``backtest_days`` days before the test weeks gives each week's
    choice (scored on the ``backtest_days`` before it) and the forecasts that choice then
    makes. ``--selection-days`` tries another window than the service's 28 days.
    """
    window = window_between(first_day, last_day, MELBOURNE)
    wide_first = pd.Timestamp(first_day) - pd.Timedelta(days=backtest_days)  # local days
    wide = window_between(str(wide_first.date()), last_day, MELBOURNE)
    evaluation = evaluation_run(
        history, MELBOURNE, window=wide, params=params, calibration_days=28, refit_days=refit_days
    )
    weeks = list(range(0, window.days, refit_days))
    out = {}
    for variant in (WEATHER, NO_WEATHER):
        if variant not in evaluation.variants:
            continue
        _, served = evaluation.variants[variant]  # calibrated rows of the wide window
        reference = evaluation.forecasts[next(iter(served.values())).members[0]]
        origins = reference.row_origins_ns()
        in_wide = (origins >= wide.start.value) & (origins < wide.end.value)
        wide_origins, wide_actual = origins[in_wide], reference.actual[in_wide]
        actual, predictions, chosen = [], [], []
        for offset in weeks:
            week_start = local_days_before(window.start, -offset, MELBOURNE)
            week_end = min(local_days_before(week_start, -refit_days, MELBOURNE), window.end)
            choice, _ = evaluation.variant_scored(
                MELBOURNE,
                with_weather=variant == WEATHER,
                window_start=local_days_before(week_start, backtest_days, MELBOURNE),
                window_end=week_start,
                calibration_days=28,
            )
            rows = (wide_origins >= week_start.value) & (wide_origins < week_end.value)
            actual.append(wide_actual[rows])
            predictions.append(served[choice].calibrated[rows])
            chosen.append(choice)
        scores = forecast_scores(np.concatenate(actual), np.concatenate(predictions))
        by_week = [forecast_scores(a, p) for a, p in zip(actual, predictions, strict=True)]
        out[variant] = {**scores, "chosen": chosen, "weeks": by_week}
    return out


def print_weekly_selection(weekly: dict, days: int, seconds: float) -> None:
    print(
        "\nin-process, selected as the service selects (each week's choice scored on the "
        f"{days} days before it; no hindsight; {seconds:.0f} s):"
    )
    print(f"{'variant':<14}{'MAPE %':>8}{'RMSE MW':>9}{'pinball MW':>11}{'90% cover':>10}  chosen")
    for variant, s in weekly.items():
        print(
            f"{variant.replace('_', ' '):<14}{s['mape']:>8.2f}{s['rmse']:>9.1f}"
            f"{s['pinball']:>11.1f}{s['coverage_90']:>9.1f}%  {', '.join(s['chosen'])}"
        )
    for variant, s in weekly.items():
        print(
            f"  by refit week ({variant.replace('_', ' ')}, MAPE % / coverage %): "
            + ", ".join(f"{w['mape']:.2f} / {w['coverage_90']:.0f}" for w in s["weeks"])
        )


# Short history: Victoria without its temperature column, cut to the 12 weeks before the
# issue-3 test weeks (local days 2014-08-14 .. 2014-11-05, 84 days); the last 2 weeks
# (2014-10-23 .. 2014-11-05) are the test, forecast by models refit weekly on what
# precedes each day inside the 12 weeks.
SHORT_HISTORY = ("2014-08-14", "2014-11-05")
SHORT_TEST_DAYS = 14


def _best_single(candidates) -> str:
    """The candidate of one family with the lowest MAPE (the short-history rule's bar)."""
    singles = [n for n, c in candidates.items() if len(c.members) == 1]
    return min(singles, key=lambda n: candidates[n].scores["mape"])


def _short_history():
    """The 12-week span, its demand, the test's first day and window, and the calibration
    days that fit before the test (the rule training jobs use)."""
    first, last = SHORT_HISTORY
    span = window_between(first, last, MELBOURNE)
    history = sample_frame()[["demand_mw"]]
    history = history[(history.index >= span.start) & (history.index < span.end)]
    test_first = str((pd.Timestamp(last) - pd.Timedelta(days=SHORT_TEST_DAYS - 1)).date())
    window = window_between(test_first, last, MELBOURNE)
    calibration_days = calibration_days_for((window.start - span.start).days, 28)
    return span, history, test_first, window, calibration_days


def short_history_schedules(params: dict) -> None:
    """The short-history rule under the 7 weekdays weekly refits can fall on.

    Each run starts the backtest 0-6 days earlier (so the weekly refits move by as
    many weekdays) and scores with the same 28-day calibration: a 14-day test is short
    enough for the refit schedule alone to move the selection and its scores.
    """
    _, history, test_first, window, calibration_days = _short_history()
    print(
        f"\nShort history under shifted refit schedules ({test_first} .. {SHORT_HISTORY[1]}, "
        f"calibration {calibration_days} days; the backtest starts 0-6 days earlier)"
    )
    print(f"{'earlier':>8}  {'selected':<22}{'MAPE %':>8}{'90% cover':>10}  best single family")
    for extra in range(7):
        evaluation = evaluation_run(
            history,
            MELBOURNE,
            window=window,
            params=params,
            calibration_days=calibration_days + extra,
            refit_days=7,
        )
        selected, candidates = evaluation.variant_scored(
            MELBOURNE,
            with_weather=False,
            window_start=window.start,
            window_end=window.end,
            calibration_days=calibration_days,
        )
        best = _best_single(candidates)
        chosen = candidates[selected].scores
        print(
            f"{extra:>8}  {selected:<22}{chosen['mape']:>8.2f}{chosen['coverage_90']:>9.1f}%  "
            f"{best} {candidates[best].scores['mape']:.2f} %"
        )


def short_history_table(params: dict) -> None:
    first, last = SHORT_HISTORY
    span, history, test_first, window, calibration_days = _short_history()
    days_before = (window.start - span.start).days
    began = time.perf_counter()
    evaluation = evaluation_run(
        history,
        MELBOURNE,
        window=window,
        params=params,
        calibration_days=calibration_days,
        refit_days=7,
    )
    selected, candidates = evaluation.variants[NO_WEATHER]
    print(
        f"\nShort history (synthetic cut of the sample): Victoria without temperature, "
        f"{span.days} days {first} .. {last}; test the last {window.days} days "
        f"{test_first} .. {last}; calibration {calibration_days} days (the history before "
        f"the test: {days_before} days); refit every 7 days; {time.perf_counter() - began:.0f} s"
    )
    print(f"{'method':<44}{'MAPE %':>8}{'RMSE MW':>9}{'pinball MW':>11}{'90% cover':>10}")
    for name, candidate in candidates.items():
        sc = candidate.scores
        label = LABELS.get(name, f"ensemble {'+'.join(candidate.members)} w={candidate.weights}")
        label += " *" if name == selected else ""
        print(
            f"{label:<44}{sc['mape']:>8.2f}{sc['rmse']:>9.1f}{sc['pinball']:>11.1f}"
            f"{sc['coverage_90']:>9.1f}%"
        )
    best_single = candidates[_best_single(candidates)]
    chosen = candidates[selected].scores
    print(
        f"selected {selected}: MAPE {chosen['mape']:.2f} % vs best single family "
        f"{best_single.name} {best_single.scores['mape']:.2f} % -> "
        f"{'no worse' if chosen['mape'] <= best_single.scores['mape'] else 'WORSE'}; "
        f"coverage {chosen['coverage_90']:.1f} % "
        f"({'within' if 88 <= chosen['coverage_90'] <= 92 else 'OUTSIDE'} 88-92 %)"
    )
    print(f"selection rule: {evaluation.metrics()['variants'][NO_WEATHER].get('reason', '')}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=None, help="CatBoost iterations")
    parser.add_argument("--calibration-days", type=int, default=28)
    parser.add_argument("--refit-days", type=int, default=7)
    parser.add_argument("--only", default="", help="comma-separated family names")
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        help="CatBoost parameter override KEY=VALUE (repeatable), for experiments",
    )
    parser.add_argument(
        "--window",
        default="2014-11-06,2014-12-31",
        help="first,last local day scored (default: the issue's test weeks); use "
        "2014-09-11,2014-11-05 to validate a change on data before the test weeks",
    )
    parser.add_argument(
        "--daily",
        action="store_true",
        help="also print each selected model's MAPE per local day: the worst days, and "
        "24-31 December against the other days",
    )
    parser.add_argument(
        "--via-api",
        action="store_true",
        help="also run the protocol through the public API (bench/via_api.py: its own "
        "web server, worker, Redis and PostgreSQL database) and compare",
    )
    parser.add_argument(
        "--weekly-selection",
        action="store_true",
        help="also score the test weeks selecting as the service does, weekly on the 28 "
        "days before each week (implied by --via-api)",
    )
    parser.add_argument(
        "--selection-days",
        type=int,
        default=28,
        help="the weekly selection's backtest window (the service's TRAINING_BACKTEST_DAYS: 28)",
    )
    parser.add_argument("--via-api-only", action="store_true", help="only the run through the API")
    parser.add_argument(
        "--short-history",
        action="store_true",
        help="also the short-history scenario (12 weeks without temperature)",
    )
    parser.add_argument(
        "--short-history-only", action="store_true", help="only the short-history scenario"
    )
    parser.add_argument(
        "--short-history-schedules",
        action="store_true",
        help="only the short-history scenario under the 7 possible weekly refit weekdays",
    )
    args = parser.parse_args()
    if args.short_history_only:
        params = model_params(args.iterations or DEFAULT_ITERATIONS)
        short_history_table(params)
        return 0
    if args.short_history_schedules:
        short_history_schedules(model_params(args.iterations or DEFAULT_ITERATIONS))
        return 0
    if args.via_api_only:
        from via_api import print_via_api, run_via_api

        first_day, last_day = args.window.split(",")
        print_via_api(run_via_api(sample_frame(), first_day, last_day, args.refit_days))
        return 0

    began = time.perf_counter()
    history = sample_frame()
    first_day, last_day = args.window.split(",")
    window = window_between(first_day, last_day, MELBOURNE)
    overrides = dict(item.split("=", 1) for item in args.param)
    params = model_params(args.iterations or DEFAULT_ITERATIONS)
    for key, value in overrides.items():  # "no_weather.depth=4" sets a no-weather setting
        *parents, name = key.split(".")
        target = params
        for parent in parents:
            target[parent] = target = dict(target.get(parent, {}))
        target[name] = _parse_value(value)
    evaluation = evaluation_run(
        history,
        MELBOURNE,
        window=window,
        params=params,
        calibration_days=args.calibration_days,
        refit_days=args.refit_days,
        only=set(args.only.split(",")) if args.only else None,
    )
    backtest_seconds = time.perf_counter() - began
    print(
        f"Victoria 2014, day-ahead from local midnight, test {window.days} days "
        f"{first_day} .. {last_day}, refit every {args.refit_days} days, "
        f"CatBoost iterations {params['iterations']}, calibration {args.calibration_days} days"
        + (f", overrides {overrides}" if overrides else "")
    )
    header = (
        f"{'method':<44}{'MAPE %':>8}{'RMSE MW':>9}{'pinball MW':>11}"
        f"{'90% cover':>10}{'raw cover':>10}{'cross':>6}"
    )
    for variant in (WEATHER, NO_WEATHER):
        if variant not in evaluation.variants:
            continue
        selected, candidates = evaluation.variants[variant]
        print(f"\n{variant.replace('_', ' ')} candidates (selected: {selected})")
        print(header)
        for name, candidate in candidates.items():
            s = candidate.scores
            label = LABELS.get(
                name, f"ensemble {'+'.join(candidate.members)} w={candidate.weights}"
            )
            mark = " *" if name == selected else ""
            print(
                f"{label + mark:<44}{s['mape']:>8.2f}{s['rmse']:>9.1f}{s['pinball']:>11.1f}"
                f"{s['coverage_90']:>9.1f}%{s['coverage_90_raw']:>9.1f}%{s['crossing']:>6}"
            )
    if args.daily:
        for variant in (WEATHER, NO_WEATHER):
            if variant in evaluation.variants:
                _print_daily_errors(evaluation, variant, window)
    print("\nTimings (2 cores):")
    for name, f in evaluation.forecasts.items():
        per_day = f.predict_seconds / max(len(f.origins), 1)
        print(
            f"  {name:<22} fit {np.mean(f.fit_seconds):6.1f} s mean, {max(f.fit_seconds):6.1f} s "
            f"max over {len(f.fit_seconds)} refits; predict {per_day * 1000:6.1f} ms/day"
        )
    # The deployed path: fit the selected model on the whole year, then one day-ahead.
    started = time.perf_counter()
    deployed = deployed_model_fit(evaluation, history, MELBOURNE)
    fit_seconds = time.perf_counter() - started
    origin = window.end - pd.Timedelta(days=1)
    day = history.index[(history.index >= origin) & (history.index < window.end)]
    known = forecast_input(history, origin, window.end, 35)
    # The day's temperature hidden: what a city without a weather forecast gets.
    blind = known.assign(temperature_c=known["temperature_c"].where(known.index < origin))
    predict_ms = {}
    for variant, frame in ((WEATHER, known), (NO_WEATHER, blind)):
        if deployed.variant_for(frame, day) != variant:
            continue
        deployed.predict(frame, day, origin)  # warm-up (first call loads libraries)
        started = time.perf_counter()
        repeats = 20
        for _ in range(repeats):
            deployed.predict(frame, day, origin)
        predict_ms[variant] = (time.perf_counter() - started) / repeats * 1000
    print(
        f"  deployed model ({', '.join(f'{v}: {c}' for v, c in deployed.summary().items())}): "
        f"fit on the year {fit_seconds:.1f} s, one day-ahead prediction "
        + ", ".join(f"{ms:.1f} ms ({v.replace('_', ' ')})" for v, ms in predict_ms.items())
    )
    if args.short_history:
        short_history_table(params)
    if args.via_api or args.weekly_selection:
        started = time.perf_counter()
        weekly = weekly_selection_scores(
            history, params, first_day, last_day, args.refit_days, args.selection_days
        )
        print_weekly_selection(weekly, args.selection_days, time.perf_counter() - started)
    if args.via_api:
        from via_api import print_via_api, run_via_api

        outcome = run_via_api(history, first_day, last_day, args.refit_days)
        print_via_api(outcome)
        for variant in (WEATHER, NO_WEATHER):
            if variant not in evaluation.variants or variant not in outcome["scores"]:
                continue
            api = outcome["scores"][variant]
            for reference, inproc in (
                ("the table above (hindsight selection)", evaluation.selected(variant).scores),
                ("the weekly selection", weekly[variant]),
            ):
                print(
                    f"  {variant.replace('_', ' ')}: API - in-process, {reference}: MAPE "
                    f"{api['mape'] - inproc['mape']:+.2f} point, coverage "
                    f"{api['coverage_90'] - inproc['coverage_90']:+.1f} point"
                )
    total = time.perf_counter() - began
    print(f"\nbench/accuracy.py finished in {total:.0f} s (backtest {backtest_seconds:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
