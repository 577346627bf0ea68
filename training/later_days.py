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

from dataclasses import dataclass

import numpy as np
import pandas as pd

from training.calibration import calibration_offsets
from training.evaluation import WEATHER
from training.families.base import QUANTILES
from training.families.gradient_boosting import CatBoostFamily
from training.families.naive import SeasonalNaiveFamily
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
# The band's widths at leads 2..7 come from this many consecutive holdouts (rolling
# origin: each forecast by a fit on the days before it). One holdout's errors
# understated those of the weeks after the fit (the season's drift: days 2-7 held 82-88 %
# of outcomes in their "90 %" band); earlier months add the spread of other regimes.
# 2, 3 and 4 were compared on the validation weeks (docs/benchmarks.md). The median
# stays the newest holdout's concern (the no-weather blend's weight).
HOLDOUT_FOLDS = 4
BLEND_GRID = np.round(np.linspace(0.0, 1.0, 11), 2)
MIN_TRAINING_DAYS = 28  # before the holdout


def extended_family(base: CatBoostFamily) -> CatBoostFamily:
    """The multi-lead twin of a day-ahead CatBoost family, with its settings."""
    # base.params is already merged for the no-weather model, which merges its
    # "no_weather" settings again: set the seeds in both places.
    no_weather = {**base.params.get("no_weather", {}), "seeds": SEEDS}
    params = {**base.params, "seeds": SEEDS, "no_weather": no_weather}
    return CatBoostFamily(with_weather=base.uses_weather, params=params, leads=LEADS, thin=THIN)


def _holdout_starts(history: pd.DataFrame, city) -> list[pd.Timestamp]:
    """Local midnights starting the ``HOLDOUT_FOLDS`` consecutive holdouts of
    ``HOLDOUT_DAYS`` that end at the data's last day, newest first; only those with
    ``MIN_TRAINING_DAYS`` of history before them (empty if not even the newest)."""
    demand = history["demand_mw"].dropna()
    if demand.empty:
        return []
    last_day = local_midnights(demand.index[-1:], city.timezone)
    starts = []
    for fold in range(1, HOLDOUT_FOLDS + 1):
        # In local days: a holdout across a daylight-saving change still starts at midnight.
        day = last_day - pd.Timedelta(days=HOLDOUT_DAYS * fold)
        start = local_midnights(day + pd.Timedelta(hours=12), city.timezone)[0]
        if start - demand.index[0] < pd.Timedelta(days=MIN_TRAINING_DAYS):
            break
        starts.append(start)
    return starts


@dataclass
class _Holdout:
    """Every observed holdout interval forecast at each lead 2..7 by a trial fit."""

    raw: np.ndarray  # (rows, QUANTILES) MW
    truth: np.ndarray
    hours: np.ndarray  # local hour of each row
    leads: np.ndarray
    targets: pd.DatetimeIndex
    origins: pd.DatetimeIndex


def _holdout_forecasts(
    trial, history: pd.DataFrame, start: pd.Timestamp, city, stop: pd.Timestamp | None = None
) -> _Holdout:
    """The holdout ``start`` .. ``stop`` (the data's end if None). Demand is read only
    before each row's origin; weather where present, like the day-ahead backtest."""
    demand = history["demand_mw"].dropna()
    actual = demand[demand.index >= start]
    if stop is not None:
        actual = actual[actual.index < stop]
    targets = actual.index.repeat(len(LEADS))
    origins = pd.DatetimeIndex(
        np.column_stack(
            [issue_midnights(actual.index, lead, city.timezone).asi8 for lead in LEADS]
        ).ravel()
    ).tz_localize("UTC")
    features = feature_frame_for_pairs(history, targets, origins, city)
    return _Holdout(
        raw=trial.model.predict_raw(features),
        truth=actual.to_numpy(dtype="float64").repeat(len(LEADS)),
        hours=features.index.tz_convert(city.timezone).hour.to_numpy(),
        leads=np.tile(np.array(LEADS), len(actual)),
        targets=targets,
        origins=origins,
    )


def _per_lead_offsets(raw, truth, hours, leads) -> np.ndarray:
    """(LEADS, 24, QUANTILES) conformal offsets, one set per lead day: errors grow with
    the lead, and one band pooled over leads 2..7 was too wide at day 2 and too narrow
    at day 7 (docs/benchmarks.md, bench/lead_accuracy.py)."""
    usable = np.isfinite(raw).all(axis=1) & np.isfinite(truth)
    out = np.zeros((len(LEADS), 24, raw.shape[1]))
    for k, lead in enumerate(LEADS):
        rows = usable & (leads == lead)
        offsets = calibration_offsets(raw[rows], truth[rows], hours[rows], QUANTILES)
        # Only the band's width, not its centre: a month's mean error at a week's lead is
        # the season's drift (the Victorian spring made a fit before mid-August 400 MW too
        # high in the weeks after it), which the final fit, on those weeks too, no longer has.
        out[k] = offsets - offsets[:, [QUANTILES.index(0.5)]]
    return out


def _concatenated(parts: list[_Holdout]) -> _Holdout:
    return _Holdout(
        raw=np.concatenate([p.raw for p in parts]),
        truth=np.concatenate([p.truth for p in parts]),
        hours=np.concatenate([p.hours for p in parts]),
        leads=np.concatenate([p.leads for p in parts]),
        targets=pd.DatetimeIndex(np.concatenate([p.targets.asi8 for p in parts])).tz_localize(
            "UTC"
        ),
        origins=pd.DatetimeIndex(np.concatenate([p.origins.asi8 for p in parts])).tz_localize(
            "UTC"
        ),
    )


def _folds(fit, history: pd.DataFrame, starts: list[pd.Timestamp], city) -> list[_Holdout]:
    """Each holdout of ``starts`` (newest first) forecast by ``fit`` of the days before it."""
    parts, stop = [], None
    for start in starts:
        trial = fit(history[history.index < start], city)
        parts.append(_holdout_forecasts(trial, history, start, city, stop))
        stop = start
    return parts


def _naive_holdout(history: pd.DataFrame, held: _Holdout, city) -> np.ndarray:
    """The seasonal naive's forecasts of the holdout rows, from each row's origin."""
    predictor = SeasonalNaiveFamily().fit(history, city)
    raw = np.full((len(held.targets), len(QUANTILES)), np.nan)
    for origin in held.origins.unique():
        rows = np.flatnonzero(held.origins == origin)
        raw[rows] = predictor.predict(history, held.targets[rows], origin)
    return raw


def multi_lead_fit(base: CatBoostFamily, history: pd.DataFrame, city):
    """(predictor, offsets) for leads 2..7, or None when history is too short for a holdout."""
    starts = _holdout_starts(history, city)
    if not starts:
        return None
    family = extended_family(base)
    held = _concatenated(_folds(family.fit, history, starts, city))
    offsets = _per_lead_offsets(held.raw, held.truth, held.hours, held.leads)
    return family.fit(history, city), offsets


def _blended(held: _Holdout, naive: np.ndarray, weight: float) -> _Holdout:
    """The holdout's rows forecast by the blend, those where both forecasts exist."""
    combined = weight * held.raw + (1 - weight) * naive
    rows = np.isfinite(combined).all(axis=1)
    return _Holdout(
        combined[rows],
        held.truth[rows],
        held.hours[rows],
        held.leads[rows],
        held.targets[rows],
        held.origins[rows],
    )


def day_ahead_later_blend(base: CatBoostFamily, history: pd.DataFrame, city):
    """(weight of the day-ahead model, per-lead offsets) for leads 2..7, or None (too short).

    Without a weather forecast the day-ahead model, reading lags days old, is about as
    accurate as the seasonal naive beyond day 1; their errors differ, so their blend is
    better than either. The weight (of a grid, like the day-ahead ensembles) minimises
    the newest holdout's MAPE over leads 2..7; the blend's band is calibrated per lead
    on every holdout.
    """
    starts = _holdout_starts(history, city)
    if not starts:
        return None
    folds = _folds(base.fit, history, starts, city)
    naives = [_naive_holdout(history, held, city) for held in folds]
    held, naive = folds[0], naives[0]
    median = QUANTILES.index(0.5)
    usable = np.isfinite(held.raw).all(axis=1) & np.isfinite(naive).all(axis=1)
    usable &= np.isfinite(held.truth)
    truth = held.truth[usable]

    def mape(w: float) -> float:
        blend = w * held.raw[usable, median] + (1 - w) * naive[usable, median]
        return float(np.mean(np.abs(blend - truth) / truth))

    weight = float(min(BLEND_GRID, key=mape))
    pooled = _concatenated([_blended(h, n, weight) for h, n in zip(folds, naives, strict=True)])
    offsets = _per_lead_offsets(pooled.raw, pooled.truth, pooled.hours, pooled.leads)
    return weight, offsets
