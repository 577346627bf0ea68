"""MSTL (daily and weekly seasonality) with AutoETS on the remainder (statsforecast).

A local model: it reads only the last few weeks of demand. Refits re-estimate the ETS
parameters; each forecast re-runs the (cheaper) decomposition up to its origin and
rolls the fitted ETS forward (``MSTL.forward``).

It knows the daily and weekly cycles only, and three weeks rarely hold a holiday, so
holidays are handled around it (training.calendar.sunday_likeness): a weekday off in
the input is replaced by the same hours a week away before decomposing (else its dip
would be read as that weekday's shape for three weeks), and a weekday off among the
targets is forecast at the Sunday level, by the recent ratio of Sunday to weekday
demand at each time of day (half of it on a bridge day). In the short-history
scenario of bench/accuracy.py the test's Melbourne Cup Day (Tuesday 4 Nov 2014) and
the Monday before it held 35-50 % of their outcomes in the 90 % band without this.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd

from training.calendar import sunday_likeness
from training.families.base import (
    QUANTILES,
    CitySpec,
    PerForecastPredictor,
    city_spec,
    demand_series,
)

WEEKS = 3
LEVEL_OF = {0.05: 90, 0.1: 80, 0.25: 50}


def _local_days(times: pd.DatetimeIndex, city: CitySpec) -> tuple[pd.DatetimeIndex, np.ndarray]:
    """Naive local dates and slots of the day of UTC ``times``."""
    local = times.tz_convert(city.timezone).tz_localize(None)
    minutes = local.hour.to_numpy() * 60 + local.minute.to_numpy()
    return local.normalize(), minutes // city.resolution_minutes


def _regular_demand(
    history: pd.DataFrame, origin: pd.Timestamp, step: pd.Timedelta
) -> tuple[np.ndarray, pd.DatetimeIndex]:
    """Demand on a gap-free grid over the WEEKS before ``origin`` (gaps interpolated),
    and the grid."""
    start = origin - pd.Timedelta(weeks=WEEKS)
    grid = pd.date_range(start, origin, freq=step, inclusive="left")
    demand = demand_series(history, origin)
    series = demand.reindex(grid)
    if series.notna().sum() < len(grid) // 2:
        raise ValueError("too little recent demand for the statistical model")
    return series.interpolate(limit_direction="both").to_numpy(dtype="float64"), grid


def _without_days_off(
    y: np.ndarray, grid: pd.DatetimeIndex, step: pd.Timedelta, city: CitySpec
) -> np.ndarray:
    """``y`` with the hours of weekdays off (and bridge days) replaced by the same hours
    of the nearest regular day one or two weeks away."""
    off = sunday_likeness(_local_days(grid, city)[0], city) > 0
    week = int(pd.Timedelta(weeks=1) / step)
    cleaned = y.copy()
    for i in np.flatnonzero(off):
        for j in (i - week, i + week, i - 2 * week, i + 2 * week):
            if 0 <= j < len(y) and not off[j]:
                cleaned[i] = y[j]
                break
    return cleaned


def _sunday_factors(
    y: np.ndarray, grid: pd.DatetimeIndex, targets: pd.DatetimeIndex, city: CitySpec
) -> np.ndarray:
    """Per target: 1, or the recent Sunday / weekday demand ratio at its time of day
    where the target's day is (partly) off."""
    likeness = sunday_likeness(_local_days(targets, city)[0], city)
    if not likeness.any():
        return np.ones(len(targets))
    dates, slots = _local_days(grid, city)
    weekday = dates.day_of_week.to_numpy()
    frame = pd.DataFrame({"y": y, "slot": slots})
    sunday = frame[weekday == 6].groupby("slot")["y"].mean()
    working = frame[weekday < 5].groupby("slot")["y"].mean()
    ratio = (sunday / working).rolling(3, center=True, min_periods=1).mean()
    _, target_slots = _local_days(targets, city)
    per_target = ratio.reindex(target_slots).fillna(1.0).to_numpy()
    return 1.0 + likeness * (per_target - 1.0)


def stl_jumps(per_day: int) -> dict:
    """STL's loess jumps: R's ``stl()`` defaults for the daily period's windows.

    statsmodels' STL, which statsforecast's ``mstl`` calls, fits a loess at every point
    (jumps of 1); R's ``stl()``, whose ``forecast::mstl`` statsforecast ports, fits one
    every ``ceil(window / 10)`` points and interpolates linearly between them. The
    windows are those statsmodels derives for the daily period from the seasonal
    window statsforecast passes (seasonal 11; trend the smallest odd integer over
    1.5 period / (1 - 1.5 / 11); low-pass the smallest odd integer over the period;
    tests/training/test_statistical_loess.py checks them against statsmodels). The
    weekly period's windows are wider, so the same jumps leave it finer than R would.
    On the shipped data they make a forecast about 5 times faster at an unchanged MAPE
    (bench/mstl_speed.py).
    """
    seasonal = 11
    trend = math.ceil(1.5 * per_day / (1 - 1.5 / seasonal))
    trend += 1 - trend % 2
    low_pass = per_day + 1 + per_day % 2
    return {
        "seasonal_jump": math.ceil(seasonal / 10),
        "trend_jump": math.ceil(trend / 10),
        "low_pass_jump": math.ceil(low_pass / 10),
    }


def _model(step_minutes: int, exact_loess: bool = False):
    from statsforecast.models import MSTL, AutoETS

    per_day = 24 * 60 // step_minutes
    return MSTL(
        season_length=[per_day, 7 * per_day],
        trend_forecaster=AutoETS(model="ZZN"),
        stl_kwargs=None if exact_loess else stl_jumps(per_day),
    )


class MstlEtsPredictor(PerForecastPredictor):
    def __init__(
        self, model, step: pd.Timedelta, city: CitySpec, clean_input: bool, sunday_targets: bool
    ):
        self.model = model
        self.step = step
        self.city = city
        self.clean_input = clean_input
        self.sunday_targets = sunday_targets

    def predict(self, history, targets, origin) -> np.ndarray:
        origin = pd.Timestamp(origin).tz_convert("UTC")
        targets = pd.DatetimeIndex(targets).tz_convert("UTC")
        # Artifacts pickled before holidays were handled have none of these attributes.
        city = getattr(self, "city", None)
        y, grid = _regular_demand(history, origin, self.step)
        if city is not None and self.clean_input:
            y = _without_days_off(y, grid, self.step, city)
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
        forecast = np.column_stack(columns)[steps]
        if city is not None and self.sunday_targets:
            forecast = forecast * _sunday_factors(y, grid, targets, city)[:, None]
        return forecast


class MstlEtsFamily:
    name = "mstl-ets"
    uses_weather = False
    history_days = 7 * WEEKS + 1

    def __init__(
        self, clean_input: bool = True, sunday_targets: bool = True, exact_loess: bool = False
    ):
        # Both off is the family as it was before holidays were handled
        # (bench/mstl_holidays.py compares the four combinations); exact_loess is the
        # decomposition as it was before stl_jumps (bench/mstl_speed.py).
        self.clean_input, self.sunday_targets = clean_input, sunday_targets
        self.exact_loess = exact_loess

    def fit(self, history, city) -> MstlEtsPredictor:
        step = pd.Timedelta(minutes=int(city.resolution_minutes))
        last = history["demand_mw"].dropna().index.max()
        origin = last + step
        model = _model(int(city.resolution_minutes), self.exact_loess)
        spec = city_spec(city)
        y, grid = _regular_demand(history, origin, step)
        if self.clean_input:
            y = _without_days_off(y, grid, step, spec)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(y)
        return MstlEtsPredictor(model, step, spec, self.clean_input, self.sunday_targets)
