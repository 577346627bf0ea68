"""MSTL + AutoETS with and without its holiday handling, on the shipped Victoria 2014 data.

The statistical family knows the daily and weekly cycles only. Since issue 13 it
replaces weekdays off in its three-week input by the same hours a week away
("clean input") and forecasts a weekday off at the Sunday level ("Sunday targets";
training/families/statistical.py). This script scores the four combinations: day-ahead
from each local midnight of ``--window``, refit weekly, the family's raw median (no
calibration, no ensemble), MAPE over all days, over the weekdays off themselves, over
the other days within three weeks after one, and over the rest.

    .venv/bin/python bench/mstl_holidays.py [--window 2014-02-01,2014-12-31]
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
import pandas as pd  # noqa: E402
from tqdm import tqdm  # noqa: E402

from cities.sample_data import sample_frame  # noqa: E402
from training.backtest import rolling_origin_forecasts, window_between  # noqa: E402
from training.calendar import sunday_likeness  # noqa: E402
from training.families.base import CitySpec  # noqa: E402
from training.families.statistical import MstlEtsFamily  # noqa: E402

MELBOURNE = CitySpec("Australia/Melbourne", "AU", 30)
VARIANTS = {
    "neither (before issue 13)": (False, False),
    "clean input only": (True, False),
    "Sunday targets only": (False, True),
    "both (the family now)": (True, True),
}


def daily_mape(clean_input: bool, sunday_targets: bool, window) -> pd.Series:
    family = MstlEtsFamily(clean_input=clean_input, sunday_targets=sunday_targets)
    history = sample_frame()[["demand_mw"]]
    forecasts = rolling_origin_forecasts(
        history, MELBOURNE, family, window.start, window.end, refit_days=7
    )
    ape = np.abs(forecasts.raw[:, 3] - forecasts.actual) / forecasts.actual * 100
    days = forecasts.times.tz_convert(MELBOURNE.timezone).tz_localize(None).normalize()
    return pd.Series(ape, index=days).groupby(level=0).mean()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--window", default="2014-02-01,2014-12-31", help="first,last local day")
    args = parser.parse_args()
    first, last = args.window.split(",")
    window = window_between(first, last, MELBOURNE)
    began = time.perf_counter()
    rows = {}
    for label, flags in tqdm(VARIANTS.items(), desc="variants", unit="variant"):
        rows[label] = daily_mape(*flags, window)
    days = next(iter(rows.values())).index
    off = sunday_likeness(days, MELBOURNE) > 0
    after = np.array([any(0 < (d - o).days <= 21 for o in days[off]) for d in days]) & ~off
    print(
        f"MSTL(48, 336) + AutoETS day-ahead MAPE %, local days {first} .. {last} "
        f"({len(days)} days, refit weekly, raw median)"
    )
    print(
        f"{'variant':<28}{'all':>7}{f'off ({off.sum()})':>11}"
        f"{f'3 weeks after ({after.sum()})':>22}{f'other ({(~off & ~after).sum()})':>13}"
    )
    for label, daily in rows.items():
        print(
            f"{label:<28}{daily.mean():>7.2f}{daily[off].mean():>11.2f}"
            f"{daily[after].mean():>22.2f}{daily[~off & ~after].mean():>13.2f}"
        )
    print(f"bench/mstl_holidays.py finished in {time.perf_counter() - began:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
