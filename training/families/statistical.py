"""MSTL (daily and weekly seasonality) with AutoETS on the remainder (statsforecast).

A local model: it reads only the last few weeks of demand. Refits re-estimate the ETS
parameters; each forecast re-runs the (cheaper) decomposition up to its origin and
rolls the fitted ETS forward (``MSTL.forward``).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from training.families.base import QUANTILES, PerForecastPredictor, demand_series

WEEKS = 3
LEVEL_OF = {0.05: 90, 0.1: 80, 0.25: 50}


def _regular_demand(history: pd.DataFrame, origin: pd.Timestamp, step: pd.Timedelta) -> np.ndarray:
    """Demand on a gap-free grid over the WEEKS before ``origin`` (gaps interpolated)."""
    start = origin - pd.Timedelta(weeks=WEEKS)
    grid = pd.date_range(start, origin, freq=step, inclusive="left")
    demand = demand_series(history, origin)
    series = demand.reindex(grid)
    if series.notna().sum() < len(grid) // 2:
        raise ValueError("too little recent demand for the statistical model")
    return series.interpolate(limit_direction="both").to_numpy(dtype="float64")


def _model(step_minutes: int):
    from statsforecast.models import MSTL, AutoETS

    per_day = 24 * 60 // step_minutes
    return MSTL(season_length=[per_day, 7 * per_day], trend_forecaster=AutoETS(model="ZZN"))


class MstlEtsPredictor(PerForecastPredictor):
    def __init__(self, model, step: pd.Timedelta):
        self.model = model
        self.step = step

    def predict(self, history, targets, origin) -> np.ndarray:
        origin = pd.Timestamp(origin).tz_convert("UTC")
        targets = pd.DatetimeIndex(targets).tz_convert("UTC")
        y = _regular_demand(history, origin, self.step)
        steps = ((targets - origin) // self.step).to_numpy()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = self.model.forward(y, h=int(steps.max()) + 1, level=sorted(LEVEL_OF.values()))
        columns = []
        for q in QUANTILES:
            if q == 0.5:
                columns.append(out["mean"])
            elif q < 0.5:
                columns.append(out[f"lo-{LEVEL_OF[q]}"])
            else:
                columns.append(out[f"hi-{LEVEL_OF[round(1 - q, 2)]}"])
        return np.column_stack(columns)[steps]


class MstlEtsFamily:
    name = "mstl-ets"
    uses_weather = False
    history_days = 7 * WEEKS + 1

    def fit(self, history, city) -> MstlEtsPredictor:
        step = pd.Timedelta(minutes=int(city.resolution_minutes))
        last = history["demand_mw"].dropna().index.max()
        origin = last + step
        model = _model(int(city.resolution_minutes))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(_regular_demand(history, origin, step))
        return MstlEtsPredictor(model, step)
