"""MSTL + AutoETS with exact loess against R's loess jumps, on the shipped Victoria 2014 data.

statsmodels' STL fits a loess at every point; R's ``stl()`` fits one every tenth of a
window and interpolates (training/families/statistical.py: ``stl_jumps``). This script
scores both the way bench/mstl_holidays.py does (day-ahead from each local midnight of
``--window``, refit weekly, the family's raw output, no calibration, no ensemble):
MAPE of the median, share of outcomes inside the raw 5 %-95 % band, the largest
difference between the two medians. Then it times one day-ahead forecast of each,
alternating between them on the same origins (``--timed`` of them, spread over the
window), so both see the same machine load: the ratio is the figure to read.

    .venv/bin/python bench/mstl_speed.py [--window 2014-02-01,2014-12-31] [--timed 40]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "energy_site.settings")

import numpy as np  # noqa: E402
from tqdm import tqdm  # noqa: E402

from cities.sample_data import sample_frame  # noqa: E402
from training.backtest import (  # noqa: E402
    day_origins,
    forecast_input,
    forecast_scores,
    rolling_origin_forecasts,
    window_between,
)
from training.families.base import QUANTILES  # noqa: E402
from training.families.statistical import MstlEtsFamily, stl_jumps  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
from mstl_holidays import MELBOURNE  # noqa: E402

VARIANTS = {"exact loess (before)": True, "R's loess jumps (now)": False}
MID = QUANTILES.index(0.5)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--window", default="2014-02-01,2014-12-31", help="first,last local day")
    parser.add_argument("--timed", type=int, default=40, help="origins timed per variant")
    args = parser.parse_args()
    first, last = args.window.split(",")
    window = window_between(first, last, MELBOURNE)
    began = time.perf_counter()
    history = sample_frame()[["demand_mw"]]
    runs = {}
    for label, exact in tqdm(VARIANTS.items(), desc="backtests", unit="variant"):
        family = MstlEtsFamily(exact_loess=exact)
        runs[label] = rolling_origin_forecasts(
            history, MELBOURNE, family, window.start, window.end, refit_days=7
        )
    print(
        f"MSTL(48, 336) + AutoETS day-ahead, local days {first} .. {last} (refit weekly, raw "
        f"output); loess jumps now: {stl_jumps(48)}"
    )
    print(f"{'variant':<24}{'days':>6}{'MAPE %':>9}{'raw 90 % cover':>16}")
    for label, run in runs.items():
        scores = forecast_scores(run.actual, run.raw)
        print(
            f"{label:<24}{len(run.origins):>6}{scores['mape']:>9.2f}{scores['coverage_90']:>15.1f}%"
        )
    exact, jumps = runs.values()
    gap = np.abs(exact.raw[:, MID] - jumps.raw[:, MID])
    print(
        f"median of the two: largest difference {gap.max():.1f} MW "
        f"({np.max(gap / exact.actual):.2%} of the outcome), mean {gap.mean():.2f} MW"
    )

    # Timing: one fit per variant on the data before the window, then the same origins
    # forecast by each in turn.
    bounds = day_origins(window.start, window.end, MELBOURNE)
    picks = np.linspace(0, len(bounds) - 2, args.timed).astype(int)
    predictors = {
        label: MstlEtsFamily(exact_loess=exact).fit(
            history[history.index < bounds[picks[0]]], MELBOURNE
        )
        for label, exact in VARIANTS.items()
    }
    seconds = {label: [] for label in VARIANTS}
    demand = history["demand_mw"].dropna()
    for i in tqdm(picks, desc="timed origins", unit="origin"):
        origin, day_end = bounds[i], bounds[i + 1]
        targets = demand.index[(demand.index >= origin) & (demand.index < day_end)]
        known = forecast_input(history, origin, day_end, MstlEtsFamily.history_days)
        for label, predictor in predictors.items():
            started = time.perf_counter()
            predictor.predict(known, targets, origin)
            seconds[label].append(time.perf_counter() - started)
    before, now = (np.median(seconds[label]) for label in VARIANTS)
    for label, taken in seconds.items():
        print(
            f"{label:<24} one day-ahead forecast: median {np.median(taken) * 1000:7.1f} ms, "
            f"p90 {np.quantile(taken, 0.9) * 1000:7.1f} ms over {len(picks)} origins"
        )
    print(f"speed-up (median before / median now): {before / now:.1f}x")
    print(f"bench/mstl_speed.py finished in {time.perf_counter() - began:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
