"""Seasonal naive: the same local slot one week back, banded by its recent errors."""

from __future__ import annotations

import numpy as np
import pandas as pd

from training.families.base import QUANTILES, PerForecastPredictor, city_spec, demand_series
from training.features import _local_naive, _LocalLookup

RESIDUAL_DAYS = 28


class SeasonalNaivePredictor(PerForecastPredictor):
    def __init__(self, city):
        self.city = city

    def predict(self, history, targets, origin) -> np.ndarray:
        tz = self.city.timezone
        origin = pd.Timestamp(origin).tz_convert("UTC")
        demand = demand_series(history, origin)
        demand.index = demand.index.as_unit("ns")
        lookup = _LocalLookup(demand, tz)
        local = _local_naive(pd.DatetimeIndex(targets).tz_convert("UTC"), tz)
        local_origin = origin.tz_convert(tz).tz_localize(None)
        weeks_back = ((local - local_origin) // pd.Timedelta(days=7)).to_numpy() + 1
        origins_ns = np.full(len(local), origin.as_unit("ns").value)
        point = lookup.get(local - pd.to_timedelta(weeks_back * 7, unit="D"), origins_ns)
        missing = np.isnan(point)
        if missing.any():  # a slot without a local twin a week back (DST): 7 x 24 h back
            back = pd.DatetimeIndex(targets).tz_convert("UTC")[missing] - pd.Timedelta(days=7)
            point[missing] = demand.reindex(back.as_unit("ns")).to_numpy()
        # Errors of the same rule over the recent past give the band.
        recent = demand[demand.index >= origin - pd.Timedelta(days=RESIDUAL_DAYS)]
        past_local = _local_naive(recent.index.as_unit("ns"), tz)
        week_before = lookup.get(
            past_local - pd.Timedelta(days=7), np.full(len(recent), origin.as_unit("ns").value)
        )
        residuals = recent.to_numpy() - week_before  # NaN where no twin: dropped below
        residuals = residuals[np.isfinite(residuals)]
        offsets = np.quantile(residuals, QUANTILES) if len(residuals) else np.zeros(len(QUANTILES))
        return point[:, None] + offsets[None, :]


class SeasonalNaiveFamily:
    name = "seasonal-naive"
    uses_weather = False
    history_days = RESIDUAL_DAYS + 8

    def fit(self, history, city) -> SeasonalNaivePredictor:
        return SeasonalNaivePredictor(city_spec(city))
