"""What every model family provides."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pandas as pd

from training.quantiles import SUPPORTED_QUANTILES

QUANTILES: tuple[float, ...] = SUPPORTED_QUANTILES


class Predictor(Protocol):
    def predict(
        self, history: pd.DataFrame, targets: pd.DatetimeIndex, origin: pd.Timestamp
    ) -> np.ndarray:
        """Raw (targets, QUANTILES) MW from ``history`` (demand only before ``origin``)."""

    def predict_many(self, items: list[tuple[pd.DataFrame, pd.DatetimeIndex, pd.Timestamp]]):
        """The same for many forecasts at once (one model call where the family can)."""


class Family(Protocol):
    name: str
    uses_weather: bool
    history_days: int  # how much history before an origin ``predict`` needs

    def fit(self, history: pd.DataFrame, city) -> Predictor:
        """Fit on ``history`` (everything strictly before the refit point)."""


class PerForecastPredictor:
    """``predict_many`` as a loop, for families without a batched model call."""

    def predict_many(self, items):
        return [self.predict(history, targets, origin) for history, targets, origin in items]


def demand_series(history: pd.DataFrame, before: pd.Timestamp) -> pd.Series:
    if "demand_mw" not in history:
        return pd.Series(dtype="float64", index=pd.DatetimeIndex([], tz="UTC"))
    demand = history["demand_mw"].dropna()
    return demand[demand.index < before]


@dataclass(frozen=True)
class CitySpec:
    """What predictors need of a city (a plain value: artifacts must not pickle ORM rows)."""

    timezone: str
    country: str
    resolution_minutes: int


def city_spec(city) -> CitySpec:
    return CitySpec(city.timezone, city.country or "", int(city.resolution_minutes))
