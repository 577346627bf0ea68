"""Conformal calibration of quantile forecasts by local hour of day.

For each quantile level tau and hour h, the offset is the tau-quantile of the
out-of-sample errors (actual - forecast quantile) of the recent days at hours h-1..h+1
(three hours pooled: four weeks give 168 scores per hour instead of 56). Adding it
makes each quantile hold its share of recent outcomes at that time of day, so the
5 %-95 % band covers about 90 %; the median's offset removes a systematic bias. The
offsets are learned from forecasts made before the day they are applied to (rolling
in the backtest; the last days of the backtest for a deployed model), then the
quantiles are sorted so they never cross.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import norm

HOURS = 24
POOLED_HOURS = 1  # each side
MIN_SCORES = 24
MIN_LEVEL = 0.002
ADAPT_RATE = 0.05
# The live calibration's rate at lead days 2..7 (forecasts/live_accuracy.py): their
# outcomes arrive 1 to 6 days late, so each step reacts to an older regime.
LATER_DAYS_ADAPT_RATE = 0.05


def calibration_offsets(
    raw: np.ndarray, actual: np.ndarray, hours: np.ndarray, levels
) -> np.ndarray:
    """(24, quantiles) additive MW offsets from out-of-sample forecasts ``raw``.

    ``levels`` are the error quantiles used per column: the nominal quantiles, or the
    adaptively corrected ones of :func:`adapted_levels`.
    """
    levels = np.clip(np.asarray(levels, dtype="float64"), MIN_LEVEL, 1 - MIN_LEVEL)
    errors = actual[:, None] - raw
    offsets = np.zeros((HOURS, raw.shape[1]))
    if len(actual) == 0:
        return offsets
    overall = np.quantile(errors, levels, axis=0).diagonal()
    for hour in range(HOURS):
        distance = np.abs((hours - hour + 12) % HOURS - 12)
        near = distance <= POOLED_HOURS
        if near.sum() < MIN_SCORES:
            offsets[hour] = overall
            continue
        offsets[hour] = np.quantile(errors[near], levels, axis=0).diagonal()
    return offsets


def adapted_levels(levels, nominal, calibrated_day: np.ndarray, actual_day: np.ndarray):
    """Adaptive conformal inference (Gibbs & Candes, 2021), one step per forecast day.

    Errors a month old describe a calmer (or wilder) regime than today's: when the
    day's outcomes fell below a quantile more often than its nominal share, the error
    level used for that quantile's offset moves down by ADAPT_RATE times the excess
    (a lower quantile), and up when less often. Long-run coverage then holds even when errors drift.
    """
    below = (actual_day[:, None] < calibrated_day).mean(axis=0)
    updated = np.asarray(levels) + ADAPT_RATE * (np.asarray(nominal) - below)
    return np.clip(updated, MIN_LEVEL, 1 - MIN_LEVEL)


def calibrate(raw: np.ndarray, hours: np.ndarray, offsets: np.ndarray | None) -> np.ndarray:
    """Apply per-hour offsets and sort the quantiles (no crossing)."""
    if offsets is None or len(raw) == 0:
        return np.sort(raw, axis=1)
    return np.sort(raw + np.asarray(offsets)[hours], axis=1)


def adaptive_shift(
    base: np.ndarray, actual: np.ndarray, days: np.ndarray, quantiles, rate: float = ADAPT_RATE
) -> np.ndarray:
    """MW to add to each quantile of the next forecasts, from issued ones (live calibration).

    ``base``: (points, quantiles) MW as issued minus the shift they were issued with;
    ``days``: the day of each point. Adaptive conformal inference on the levels, one
    step per day as in :func:`adapted_levels`, each step judged with the shift of that
    day; a level's displacement from nominal becomes MW through the width of the day's
    band (the quantile distance of a normal error with that 5 %-95 % width): no refit.
    """
    quantiles = np.asarray(quantiles, dtype="float64")
    levels = quantiles.copy()
    shift = np.zeros(len(quantiles))
    z = norm.ppf(quantiles)
    band_z = norm.ppf(0.95) - norm.ppf(0.05)
    low, high = int(np.argmin(quantiles)), int(np.argmax(quantiles))
    for day in np.unique(days):
        rows = days == day
        forecast = np.sort(base[rows] + shift, axis=1)
        below = (actual[rows, None] < forecast).mean(axis=0)
        levels = np.clip(levels + rate * (quantiles - below), MIN_LEVEL, 1 - MIN_LEVEL)
        sigma = max(float(np.mean(base[rows, high] - base[rows, low])), 0.0) / band_z
        shift = sigma * (norm.ppf(levels) - z)
    return shift


def lead_day_shift(
    base: np.ndarray,
    actual: np.ndarray,
    days: np.ndarray,
    quantiles,
    lead: int,
    rate: float | None = None,
) -> np.ndarray:
    """The live shift of the forecasts at one lead day (1..7), from issued ones.

    Day 1: :func:`adaptive_shift` as it is. Days 2..7: the median stays where the model
    put it and only the band's ends move, by their shift relative to the median's. The
    median's shift, steered by outcomes 1 to 6 days old, made the MAPE of days 2-7 worse
    on the validation weeks of bench/lead_accuracy.py (without weather 4.3-5.0 % ->
    4.5-5.3 %) and moved the whole band off the outcomes of the week after a regime
    change; the width still follows the recent record.
    """
    quantiles = np.asarray(quantiles, dtype="float64")
    if rate is None:
        rate = ADAPT_RATE if lead == 1 else LATER_DAYS_ADAPT_RATE
    shift = adaptive_shift(base, actual, days, quantiles, rate)
    if lead == 1:
        return shift
    median = int(np.argmin(np.abs(quantiles - 0.5)))
    return shift - shift[median]
