"""Rolling-origin day-ahead backtest of the model against the seasonal naive.

Protocol: fit once on everything before the window, then forecast each day D of the
window from its local midnight using only observations before D (model fixed,
origin moves daily). The training frame already holds exactly those features, one
day-ahead origin per local day, so the whole window is predicted in one call.
Temperature at the target is the observed one (a perfect weather forecast), so the
scores are an upper bound for real day-ahead use.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from django.conf import settings

from forecasts.services.jobs import JobError
from training.features import build_training_frame
from training.trainer import SUPPORTED_QUANTILES, model_fit

PINBALL_QUANTILES = (0.05, 0.5, 0.95)
NAIVE_RESIDUAL_DAYS = 28
MIN_TRAINING_DAYS = 7
MIN_WINDOW_DAYS = 7


@dataclass(frozen=True)
class BacktestWindow:
    start: pd.Timestamp  # UTC, a local midnight
    end: pd.Timestamp  # UTC, exclusive
    days: int

    def as_dict(self) -> dict:
        return {"start": self.start.isoformat(), "end": self.end.isoformat(), "days": self.days}


def backtest_window_for(demand_index: pd.DatetimeIndex, city, days: int) -> BacktestWindow:
    """The last ``days`` complete local days of history."""
    tz = city.timezone
    after_last = demand_index.max() + pd.Timedelta(minutes=city.resolution_minutes)
    end_local = after_last.tz_convert(tz).tz_localize(None).normalize()
    start_local = end_local - pd.Timedelta(days=days)
    start, end = (
        pd.Timestamp(ts).tz_localize(tz, ambiguous=True, nonexistent="shift_forward")
        for ts in (start_local, end_local)
    )
    return BacktestWindow(start.tz_convert("UTC"), end.tz_convert("UTC"), days)


def pinball_loss(actual: np.ndarray, predicted: np.ndarray, quantile: float) -> float:
    diff = actual - predicted
    return float(np.mean(np.maximum(quantile * diff, (quantile - 1) * diff)))


def forecast_scores(
    actual: np.ndarray, predictions: np.ndarray, quantiles: tuple[float, ...]
) -> dict:
    """MAPE %, RMSE MW, mean pinball MW over PINBALL_QUANTILES, 90 % interval coverage %."""
    column = {q: i for i, q in enumerate(quantiles)}
    median = predictions[:, column[0.5]]
    lower, upper = predictions[:, column[0.05]], predictions[:, column[0.95]]
    return {
        "mape": round(float(np.mean(np.abs(median - actual) / np.abs(actual)) * 100), 4),
        "rmse": round(float(np.sqrt(np.mean((median - actual) ** 2))), 3),
        "pinball": round(
            float(
                np.mean(
                    [pinball_loss(actual, predictions[:, column[q]], q) for q in PINBALL_QUANTILES]
                )
            ),
            3,
        ),
        "coverage_90": round(float(np.mean((actual >= lower) & (actual <= upper)) * 100), 2),
        "points": int(len(actual)),
    }


def seasonal_naive_predictions(
    features: pd.DataFrame, target: pd.Series, window: BacktestWindow, city
) -> np.ndarray:
    """Demand one week back, banded by the quantiles of its errors in the 4 weeks before D."""
    in_window = (features.index >= window.start) & (features.index < window.end)
    weekly = features["demand_lag_week"].to_numpy()
    residuals = pd.Series(target.to_numpy() - weekly, index=features.index)
    rows = features.index[in_window]
    origin_days = rows.tz_convert(city.timezone).normalize()
    out = np.empty((len(rows), len(SUPPORTED_QUANTILES)))
    for day in origin_days.unique():
        here = origin_days == day
        origin = day.tz_convert("UTC")
        past = residuals[
            (residuals.index >= origin - pd.Timedelta(days=NAIVE_RESIDUAL_DAYS))
            & (residuals.index < origin)
        ].dropna()
        offsets = np.quantile(past, SUPPORTED_QUANTILES) if len(past) else np.zeros(7)
        out[here] = weekly[in_window][here][:, None] + offsets[None, :]
    return np.sort(out, axis=1)


def backtest_run(
    history: pd.DataFrame,
    city,
    *,
    days: int | None = None,
    window: BacktestWindow | None = None,
    params: dict | None = None,
    progress: Callable[[int], None] | None = None,
) -> dict:
    """Backtest on the last ``days`` (default settings.TRAINING_BACKTEST_DAYS) or ``window``."""
    progress = progress or (lambda pct: None)
    features, target = build_training_frame(history, city)
    if len(target) == 0:
        raise JobError("insufficient_data", "No demand history with a week of lags behind it.")
    if window is None:
        # Short histories get a shorter window rather than no model: keep at least
        # MIN_TRAINING_DAYS to fit on (plus a day, as the window snaps to local
        # midnights) and MIN_WINDOW_DAYS to score.
        usable_days = len(target) * city.resolution_minutes / (60 * 24)
        room = math.floor(usable_days - MIN_TRAINING_DAYS - 1)
        days = max(min(days or settings.TRAINING_BACKTEST_DAYS, room), MIN_WINDOW_DAYS)
        window = backtest_window_for(target.index, city, days)
    before = features.index < window.start
    inside = (features.index >= window.start) & (features.index < window.end)
    train_days = before.sum() * city.resolution_minutes / (60 * 24)
    if train_days < MIN_TRAINING_DAYS or not inside.any():
        raise JobError(
            "insufficient_data",
            f"The backtest needs {MIN_TRAINING_DAYS} days of usable history before its "
            f"{window.days}-day window; found {math.floor(train_days * 100) / 100:.2f} days before "
            f"{window.start.isoformat()} and {int(inside.sum())} points inside it.",
            {"train_days": round(float(train_days), 1), "window": window.as_dict()},
        )
    progress(10)
    model = model_fit(features[before], target[before], params)
    progress(80)
    actual = target[inside].to_numpy(dtype="float64")
    model_scores = forecast_scores(actual, model.predict(features[inside]), model.quantiles)
    naive = seasonal_naive_predictions(features, target, window, city)
    naive_scores = forecast_scores(actual, naive, SUPPORTED_QUANTILES)
    model_scores["skill_mape"] = round(1 - model_scores["mape"] / naive_scores["mape"], 4)
    model_scores["skill_pinball"] = round(1 - model_scores["pinball"] / naive_scores["pinball"], 4)
    progress(90)
    return {
        "window": window.as_dict(),
        "model": model_scores,
        "seasonal_naive": naive_scores,
        "protocol": "rolling-origin day-ahead from local midnight, model fit before the window",
    }
