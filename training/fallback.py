"""Seasonal-profile fallback: what a city gets without an active model or enough lags.

The median of each (local weekday, slot) over the last four weeks before the origin,
or of the slot alone when that weekday has not been seen (one day of data is
enough). The band comes from how far observations stray from their profile, with a
floor so a thin history never claims certainty it does not have.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from errors import Unprocessable

METHOD = "seasonal-profile"
PROFILE_WEEKS = 4
MIN_RELATIVE_SPREAD = 0.05  # floor on the band: at least +-5 % of the median at one sigma
NORMAL_Z = {
    0.05: -1.645,
    0.1: -1.2816,
    0.25: -0.6745,
    0.5: 0.0,
    0.75: 0.6745,
    0.9: 1.2816,
    0.95: 1.645,
}


def _keys(index: pd.DatetimeIndex, city) -> tuple[np.ndarray, np.ndarray]:
    local = index.tz_convert(city.timezone)
    slots = (local.hour * 60 + local.minute) // int(city.resolution_minutes)
    return np.asarray(local.day_of_week), np.asarray(slots)


def seasonal_profile_forecast(
    history: pd.DataFrame,
    target_index: pd.DatetimeIndex,
    origin: pd.Timestamp,
    city,
    quantiles: tuple[float, ...],
) -> dict[float, np.ndarray]:
    """Quantile -> MW for every target interval, from demand observed before ``origin``."""
    demand = history["demand_mw"].dropna() if "demand_mw" in history else pd.Series(dtype=float)
    demand = demand[
        (demand.index < origin) & (demand.index >= origin - pd.Timedelta(weeks=PROFILE_WEEKS))
    ]
    if len(demand) == 0:
        raise Unprocessable(
            f"{city} has no demand observations in the {PROFILE_WEEKS} weeks before "
            f"{origin.isoformat()}; upload history first.",
            code="insufficient_data",
            details={"city": city.pk, "start": origin.isoformat()},
        )
    weekday, slot = _keys(demand.index, city)
    frame = pd.DataFrame({"weekday": weekday, "slot": slot, "demand": demand.to_numpy()})
    by_weekday_slot = frame.groupby(["weekday", "slot"])["demand"].median()
    by_slot = frame.groupby("slot")["demand"].median()
    overall = float(frame["demand"].median())

    target_weekday, target_slot = _keys(pd.DatetimeIndex(target_index), city)
    pairs = pd.MultiIndex.from_arrays([target_weekday, target_slot])
    median = by_weekday_slot.reindex(pairs).to_numpy()
    median = np.where(np.isnan(median), by_slot.reindex(target_slot).to_numpy(), median)
    median = np.where(np.isnan(median), overall, median)

    # How observations deviate from their own profile, relative to it.
    fitted = by_weekday_slot.reindex(pd.MultiIndex.from_arrays([weekday, slot])).to_numpy()
    relative = frame["demand"].to_numpy() / fitted - 1
    result = {}
    for q in quantiles:
        empirical = float(np.quantile(relative, q))
        floor = NORMAL_Z.get(q, 0.0) * MIN_RELATIVE_SPREAD
        offset = min(empirical, floor) if q < 0.5 else max(empirical, floor)
        result[q] = median * (1 + (0.0 if q == 0.5 else offset))
    return result
