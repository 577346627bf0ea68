"""Forecasts beyond the first day (leads 2..7): a CatBoost model of those leads,
calibrated on a holdout.

The selected day-ahead model learned from forecasts issued at each day's own midnight,
so its lags were always one day old; asked for day 3 of a week-ahead request it would
read three-day-old lags as if they were yesterday's, and its band would be far too
narrow. This model learns from rows issued 1 to 6 days before their day, with the lead
as a feature, and its conformal offsets come from its own out-of-sample errors at
those leads: the last ``HOLDOUT_DAYS`` of history forecast by a fit on the days before
them. Without a weather forecast the day-ahead CatBoost serves every lead, with its
band recalibrated at leads 2..7 (``day_ahead_later_offsets``). How each choice scored
on the validation and test weeks: docs/benchmarks.md (`bench/lead_accuracy.py`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from training.calibration import calibration_offsets
from training.evaluation import WEATHER
from training.families.base import QUANTILES
from training.families.gradient_boosting import CatBoostFamily
from training.features import feature_frame_for_pairs, issue_midnights, local_midnights

LEADS: tuple[int, ...] = (2, 3, 4, 5, 6, 7)
# The variants that get a multi-lead model: with a weather forecast only (without one
# it did not generalise from the validation to the test weeks, docs/benchmarks.md).
# The no-weather variant keeps its day-ahead CatBoost at every lead, with its band
# recalibrated on its own errors at leads 2..7 (day_ahead_later_offsets).
MULTI_LEAD_VARIANTS: tuple[str, ...] = (WEATHER,)
THIN = 3  # each lead sees every third day: six leads cost two day-ahead fits
SEEDS = 1  # one booster, where the day-ahead no-weather model averages three
HOLDOUT_DAYS = 28
MIN_TRAINING_DAYS = 28  # before the holdout


def extended_family(base: CatBoostFamily) -> CatBoostFamily:
    """The multi-lead twin of a day-ahead CatBoost family, with its settings."""
    # base.params is already merged for the no-weather model, which merges its
    # "no_weather" settings again: set the seeds in both places.
    no_weather = {**base.params.get("no_weather", {}), "seeds": SEEDS}
    params = {**base.params, "seeds": SEEDS, "no_weather": no_weather}
    return CatBoostFamily(with_weather=base.uses_weather, params=params, leads=LEADS, thin=THIN)


def _holdout_start(history: pd.DataFrame, city) -> pd.Timestamp | None:
    """Local midnight ``HOLDOUT_DAYS`` before the data's last day; None if too little before."""
    demand = history["demand_mw"].dropna()
    if demand.empty:
        return None
    end = local_midnights(demand.index[-1:], city.timezone)[0]
    start = end - pd.Timedelta(days=HOLDOUT_DAYS)
    return start if start - demand.index[0] >= pd.Timedelta(days=MIN_TRAINING_DAYS) else None


def _later_day_offsets(trial, history: pd.DataFrame, start: pd.Timestamp, city) -> np.ndarray:
    """Conformal offsets of ``trial`` (fitted before ``start``) at leads 2..7 on the holdout.

    Every observed holdout interval is forecast at each lead (demand is read only
    before each row's origin; weather where present, like the day-ahead backtest).
    """
    demand = history["demand_mw"].dropna()
    actual = demand[demand.index >= start]
    targets = actual.index.repeat(len(LEADS))
    origins = pd.DatetimeIndex(
        np.column_stack(
            [issue_midnights(actual.index, lead, city.timezone).asi8 for lead in LEADS]
        ).ravel()
    ).tz_localize("UTC")
    features = feature_frame_for_pairs(history, targets, origins, city)
    raw = trial.model.predict_raw(features)
    truth = actual.to_numpy(dtype="float64").repeat(len(LEADS))
    hours = features.index.tz_convert(city.timezone).hour.to_numpy()
    usable = np.isfinite(raw).all(axis=1) & np.isfinite(truth)
    offsets = calibration_offsets(raw[usable], truth[usable], hours[usable], QUANTILES)
    # Only the band's width, not its centre: a month's mean error at a week's lead is
    # the season's drift (the Victorian spring made a fit before mid-August 400 MW too
    # high in the weeks after it), which the final fit, on those weeks too, no longer has.
    return offsets - offsets[:, [QUANTILES.index(0.5)]]


def multi_lead_fit(base: CatBoostFamily, history: pd.DataFrame, city):
    """(predictor, offsets) for leads 2..7, or None when history is too short for a holdout."""
    start = _holdout_start(history, city)
    if start is None:
        return None
    family = extended_family(base)
    trial = family.fit(history[history.index < start], city)
    offsets = _later_day_offsets(trial, history, start, city)
    return family.fit(history, city), offsets


def day_ahead_later_offsets(base: CatBoostFamily, history: pd.DataFrame, city):
    """Offsets that make the day-ahead model's band hold at leads 2..7, or None (too short)."""
    start = _holdout_start(history, city)
    if start is None:
        return None
    trial = base.fit(history[history.index < start], city)
    return _later_day_offsets(trial, history, start, city)
