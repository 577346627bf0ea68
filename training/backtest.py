"""The rolling-origin day-ahead backtest: THE protocol, for every model family.

For each local day D of the window (and of the calibration days before it), the
forecast is issued at D's local midnight from demand observed strictly before it;
the weather of D is the observed one (a perfect weather forecast, "ex-post"), or
absent when the history has no weather; given stored weather forecast vintages
(``weather``), the one known at D's midnight where there is one. Models are refit
every ``refit_days`` on all history before the refit point. bench/accuracy.py and training both call
:func:`rolling_origin_forecasts`; calibration, ensembling and selection of the raw
forecasts it returns live in training/selection.py.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from training.families.base import QUANTILES, Family
from training.quantiles import DEFAULT_QUANTILES

# Pinball loss is averaged over the quantiles clients get by default.
PINBALL_QUANTILES = DEFAULT_QUANTILES
MIN_TRAINING_DAYS = 7
MIN_WINDOW_DAYS = 7


@dataclass(frozen=True)
class BacktestWindow:
    start: pd.Timestamp  # UTC, a local midnight
    end: pd.Timestamp  # UTC, exclusive
    days: int

    def as_dict(self) -> dict:
        return {"start": self.start.isoformat(), "end": self.end.isoformat(), "days": self.days}

    @classmethod
    def from_dict(cls, data: dict) -> BacktestWindow:
        return cls(pd.Timestamp(data["start"]), pd.Timestamp(data["end"]), int(data["days"]))


def _local_midnight(day: pd.Timestamp, tz: str) -> pd.Timestamp:
    return pd.Timestamp(day).tz_localize(tz, ambiguous=True, nonexistent="shift_forward")


def backtest_window_for(demand_index: pd.DatetimeIndex, city, days: int) -> BacktestWindow:
    """The last ``days`` complete local days of history."""
    tz = city.timezone
    after_last = demand_index.max() + pd.Timedelta(minutes=city.resolution_minutes)
    end_local = after_last.tz_convert(tz).tz_localize(None).normalize()
    start_local = end_local - pd.Timedelta(days=days)
    start, end = (_local_midnight(ts, tz) for ts in (start_local, end_local))
    return BacktestWindow(start.tz_convert("UTC"), end.tz_convert("UTC"), days)


def window_between(first_day: str, last_day: str, city) -> BacktestWindow:
    """Local days ``first_day`` .. ``last_day`` inclusive (ISO dates)."""
    tz = city.timezone
    start = _local_midnight(pd.Timestamp(first_day), tz).tz_convert("UTC")
    end = _local_midnight(pd.Timestamp(last_day) + pd.Timedelta(days=1), tz).tz_convert("UTC")
    days = (pd.Timestamp(last_day) - pd.Timestamp(first_day)).days + 1
    return BacktestWindow(start, end, days)


def local_days_before(moment: pd.Timestamp, days: int, city) -> pd.Timestamp:
    """The local midnight (UTC) ``days`` local days before ``moment``, a local midnight.

    A fixed ``Timedelta(days=...)`` is 24 h a day: across a daylight-saving change it
    lands an hour off midnight, and the next local midnight after it is a day late, so
    the calibration days shrink by one and weekly refits move to another weekday."""
    tz = city.timezone
    local = moment.tz_convert(tz).tz_localize(None).normalize() - pd.Timedelta(days=days)
    return _local_midnight(local, tz).tz_convert("UTC")


def day_origins(start: pd.Timestamp, end: pd.Timestamp, city) -> list[pd.Timestamp]:
    """Local midnights (UTC) of every local day in [start, end), plus ``end``."""
    tz = city.timezone
    first = start.tz_convert(tz).tz_localize(None).normalize()
    last = end.tz_convert(tz).tz_localize(None).normalize()
    days = pd.date_range(first, last, freq="D")
    return [_local_midnight(day, tz).tz_convert("UTC") for day in days]


def calibration_days_for(days_before_window: float, wanted: int) -> int:
    """Calibration days that fit the history before a backtest window: its first
    calibration forecast still needs a week of lags and MIN_TRAINING_DAYS to fit on
    (plus a day, as windows snap to local midnights). Short histories get fewer days
    rather than no model."""
    room = math.floor(days_before_window - 7 - MIN_TRAINING_DAYS - 1)
    return int(max(min(wanted, room), 0))


def pinball_loss(actual: np.ndarray, predicted: np.ndarray, quantile: float) -> float:
    diff = actual - predicted
    return float(np.mean(np.maximum(quantile * diff, (quantile - 1) * diff)))


def forecast_scores(
    actual: np.ndarray, predictions: np.ndarray, quantiles: tuple[float, ...] = QUANTILES
) -> dict:
    """MAPE %, RMSE MW, mean pinball MW over PINBALL_QUANTILES, 90 % interval coverage %."""
    column = {q: i for i, q in enumerate(quantiles)}
    median = predictions[:, column[0.5]]
    lower, upper = predictions[:, column[0.05]], predictions[:, column[0.95]]
    pinball = np.mean(
        [pinball_loss(actual, predictions[:, column[q]], q) for q in PINBALL_QUANTILES]
    )
    return {
        "mape": round(float(np.mean(np.abs(median - actual) / np.abs(actual)) * 100), 4),
        "rmse": round(float(np.sqrt(np.mean((median - actual) ** 2))), 3),
        "pinball": round(float(pinball), 3),
        "coverage_90": round(float(np.mean((actual >= lower) & (actual <= upper)) * 100), 2),
        "crossing": int((np.diff(predictions, axis=1) < 0).any(axis=1).sum()),
        "points": int(len(actual)),
    }


@dataclass
class RollingForecasts:
    """Raw out-of-sample forecasts of one family, one row per target interval."""

    family: str
    origins: list[pd.Timestamp]  # one per forecast day
    times: pd.DatetimeIndex  # UTC target intervals
    day: np.ndarray  # index into ``origins`` of each row
    raw: np.ndarray  # (rows, QUANTILES) MW, uncalibrated
    actual: np.ndarray
    fit_seconds: list[float] = field(default_factory=list)
    predict_seconds: float = 0.0

    def local_hours(self, city) -> np.ndarray:
        return self.times.tz_convert(city.timezone).hour.to_numpy()

    def row_origins_ns(self) -> np.ndarray:
        """The origin (UTC, ns) each row was forecast from."""
        return np.array([o.value for o in self.origins], dtype="int64")[self.day]


# weather(origin, targets) -> the weather forecast known at ``origin`` for ``targets``
# (a frame of weather columns, NaN where unknown), or None where there is none: the
# stored vintages of a city (weather/selectors.py: weather_asof_lookup).
WeatherAsOf = Callable[[pd.Timestamp, pd.DatetimeIndex], "pd.DataFrame | None"]


def forecast_input(
    history: pd.DataFrame,
    origin: pd.Timestamp,
    day_end: pd.Timestamp,
    lookback_days: int,
    weather: WeatherAsOf | None = None,
) -> pd.DataFrame:
    """What is known at ``origin``: history before it, and the target day's weather only:
    the observed weather (ex-post), or the stored forecast known at ``origin`` where
    ``weather`` has one."""
    past = history[
        (history.index >= origin - pd.Timedelta(days=lookback_days)) & (history.index < origin)
    ]
    ahead = history[(history.index >= origin) & (history.index < day_end)].copy()
    ahead["demand_mw"] = np.nan
    if weather is not None and len(ahead):
        known = weather(origin, ahead.index)
        if known is not None:
            for column in known.columns.intersection(ahead.columns):
                ahead[column] = known[column].reindex(ahead.index).to_numpy()
    return pd.concat([past, ahead])


def rolling_origin_forecasts(
    history: pd.DataFrame,
    city,
    family: Family,
    start: pd.Timestamp,
    end: pd.Timestamp,
    *,
    refit_days: int = 7,
    progress: Callable[[float], None] | None = None,
    weather: WeatherAsOf | None = None,
) -> RollingForecasts:
    """Day-ahead forecasts of every local day in [start, end), refit every ``refit_days``."""
    history = history.sort_index()
    demand = history["demand_mw"].dropna()
    bounds = day_origins(start, end, city)
    origins, times, days, raw, actual = [], [], [], [], []
    fit_seconds, predict_seconds = [], 0.0
    for block in range(0, len(bounds) - 1, refit_days):
        refit_at = bounds[block]
        started = time.perf_counter()
        predictor = family.fit(history[history.index < refit_at], city)
        fit_seconds.append(time.perf_counter() - started)
        items = []
        for d in range(block, min(block + refit_days, len(bounds) - 1)):
            origin, day_end = bounds[d], bounds[d + 1]
            targets = demand.index[(demand.index >= origin) & (demand.index < day_end)]
            if len(targets) == 0:
                continue
            items.append(
                (
                    forecast_input(history, origin, day_end, family.history_days, weather),
                    targets,
                    origin,
                )
            )
        started = time.perf_counter()
        predictions = predictor.predict_many(items) if items else []
        predict_seconds += time.perf_counter() - started
        for (_, targets, origin), values in zip(items, predictions, strict=True):
            origins.append(origin)
            times.append(targets.as_unit("ns"))
            days.append(np.full(len(targets), len(origins) - 1))
            raw.append(values)
            actual.append(demand.reindex(targets).to_numpy(dtype="float64"))
        if progress:
            progress(min(block + refit_days, len(bounds) - 1) / max(len(bounds) - 1, 1))
    if not raw:
        empty = np.zeros((0, len(QUANTILES)))
        return RollingForecasts(
            family.name, [], pd.DatetimeIndex([], tz="UTC"), np.zeros(0, int), empty, np.zeros(0)
        )
    return RollingForecasts(
        family=family.name,
        origins=origins,
        times=pd.DatetimeIndex(
            np.concatenate([t.asi8 for t in times]).view("datetime64[ns]")
        ).tz_localize("UTC"),
        day=np.concatenate(days),
        raw=np.vstack(raw),
        actual=np.concatenate(actual),
        fit_seconds=fit_seconds,
        predict_seconds=predict_seconds,
    )
