"""How long the deployed model's fit on the whole Victoria year takes (issue 3's "fit one
city-year < 60 s"), for a given number of holdouts of the later-day bands.

Selects the families as bench/accuracy.py does (one evaluation of the last 28 days of
2014, refit weekly, calibration 28 days), then times training.deployed.deployed_model_fit
on the whole year once per ``--folds`` value, in this one process:

    .venv/bin/python bench/deployed_fit_time.py [--folds 4,1]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
# bench/accuracy.py sets up Django for an in-process run (settings, a throwaway secret key,
# quiet logs) when imported: this script runs on the same set-up.
from accuracy import MELBOURNE  # noqa: E402

import training.later_days as later_days  # noqa: E402
from cities.sample_data import sample_frame  # noqa: E402
from training.backtest import window_between  # noqa: E402
from training.catboost_model import model_params  # noqa: E402
from training.deployed import deployed_model_fit  # noqa: E402
from training.evaluation import NO_WEATHER, WEATHER, evaluation_run  # noqa: E402

FAMILIES = {"catboost", "catboost-no-weather", "vanilla-regression", "seasonal-naive"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", default="4,1", help="holdouts of the later-day bands to time")
    args = parser.parse_args()
    history = sample_frame()
    evaluation = evaluation_run(
        history, MELBOURNE, window=window_between("2014-12-04", "2014-12-31", MELBOURNE),
        params=model_params(), calibration_days=28, refit_days=7, only=FAMILIES,
    )  # fmt: skip
    print(f"selected: weather {evaluation.selected(WEATHER).name}, "
          f"no weather {evaluation.selected(NO_WEATHER).name}", flush=True)  # fmt: skip
    for folds in (int(f) for f in args.folds.split(",")):
        later_days.HOLDOUT_FOLDS = folds
        began = time.perf_counter()
        deployed_model_fit(evaluation, history, MELBOURNE)
        seconds = time.perf_counter() - began
        print(f"holdouts {folds}: deployed_model_fit on the year {seconds:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
