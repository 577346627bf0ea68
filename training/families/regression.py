"""Tao Hong's vanilla regression (GEFCom2012 benchmark), fitted by least squares.

demand ~ trend + month + weekday x slot + month x (T, T^2, T^3) + slot x (T, T^2, T^3)
with T the temperature at the target (observed before the origin, forecast after:
the ex-post protocol gives it the observed one). Bands: empirical quantiles of the
in-sample residuals by local hour.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from training.families.base import QUANTILES, PerForecastPredictor, city_spec
from training.features import _local_naive


def _design(times, temperature, city, origin_day: float, month_map: np.ndarray):
    local = _local_naive(times, city.timezone)
    per_day = 24 * 60 // int(city.resolution_minutes)
    slot = (local.hour * 60 + local.minute).to_numpy() // int(city.resolution_minutes)
    month = month_map[local.month.to_numpy() - 1]
    weekday_slot = local.day_of_week.to_numpy() * per_day + slot
    n = len(times)
    trend = (times.asi8 / 86_400e9 - origin_day)[:, None] / 365.0
    months = np.eye(12)[month]
    blocks = [np.ones((n, 1)), trend, months[:, 1:], np.eye(7 * per_day)[weekday_slot][:, 1:]]
    slots = np.eye(per_day)[slot]
    for power in (1, 2, 3):
        t = (temperature / 10.0) ** power
        blocks += [months * t[:, None], slots * t[:, None]]
    return np.hstack(blocks), local.hour.to_numpy()


def _month_map(times: pd.DatetimeIndex, tz: str) -> np.ndarray:
    """Month -> the nearest month seen in training (with under a year of data, the
    month terms of unseen months cannot be estimated)."""
    seen = np.unique(times.tz_convert(tz).month.to_numpy() - 1)
    months = np.arange(12)
    distance = np.abs((months[:, None] - seen[None, :] + 6) % 12 - 6)
    return seen[np.argmin(distance, axis=1)]


class VanillaRegressionPredictor(PerForecastPredictor):
    def __init__(self, coefficients, offsets_by_hour, city, origin_day, month_map):
        self.month_map = month_map
        self.coefficients = coefficients
        self.offsets_by_hour = offsets_by_hour
        self.city = city
        self.origin_day = origin_day

    def predict(self, history, targets, origin) -> np.ndarray:
        targets = pd.DatetimeIndex(targets).tz_convert("UTC")
        temperature = history["temperature_c"].reindex(targets).to_numpy(dtype="float64")
        design, hours = _design(targets, temperature, self.city, self.origin_day, self.month_map)
        point = design @ self.coefficients
        return point[:, None] + self.offsets_by_hour[hours]


class VanillaRegressionFamily:
    name = "vanilla-regression"
    uses_weather = True
    history_days = 1

    def fit(self, history, city) -> VanillaRegressionPredictor:
        rows = history[["demand_mw", "temperature_c"]].dropna()
        origin_day = float(rows.index.asi8[0] / 86_400e9)
        month_map = _month_map(rows.index, city.timezone)
        design, hours = _design(
            rows.index, rows["temperature_c"].to_numpy(), city, origin_day, month_map
        )
        y = rows["demand_mw"].to_numpy()
        coefficients, *_ = np.linalg.lstsq(design, y, rcond=None)
        residuals = y - design @ coefficients
        offsets = np.zeros((24, len(QUANTILES)))
        for hour in range(24):
            here = residuals[hours == hour]
            offsets[hour] = np.quantile(here if len(here) else residuals, QUANTILES)
        return VanillaRegressionPredictor(
            coefficients, offsets, city_spec(city), origin_day, month_map
        )
