"""Feature engineering shared by training, backtest and inference (one code path).

Every feature of a target interval ``t`` forecast from origin ``o`` uses only demand
observed strictly before ``o`` (the as-of rule). Calendar features are computed in
the city's local time zone, so a "slot" is a local time of day and survives DST.

The core, :func:`feature_frame_for_pairs`, takes one origin per target row, which is
what makes it fast: the training matrix is every day forecast day-ahead from its own
local midnight, built in one vectorised pass, and an inference request is the same
function with a single origin repeated.
"""

from __future__ import annotations

import warnings
from functools import lru_cache

import holidays
import numpy as np
import pandas as pd

FEATURE_COLUMNS = [
    "slot",
    "day_of_week",
    "month",
    "day_of_year_sin",
    "day_of_year_cos",
    "is_holiday",
    "is_working_day",
    "temperature_c",
    "demand_lag_day",
    "demand_lag_week",
    "temperature_lag_day",
    "lag_day_is_working_day",
    "demand_mean_24h",
    "demand_max_24h",
]
TARGET_COLUMN = "demand_mw"
DAY = pd.Timedelta(days=1)
WEEK = pd.Timedelta(days=7)
TEMPERATURE_PERSISTENCE_DAYS = 7

# The holidays package needs a subdivision for state holidays (Melbourne Cup Day is
# Victorian only); the City model has no such field, so infer it from the time zone.
SUBDIVISION_BY_TIMEZONE = {
    "Australia/Melbourne": "VIC",
    "Australia/Sydney": "NSW",
    "Australia/Brisbane": "QLD",
    "Australia/Adelaide": "SA",
    "Australia/Perth": "WA",
    "Australia/Hobart": "TAS",
    "Australia/Darwin": "NT",
    "Australia/Canberra": "ACT",
}


@lru_cache(maxsize=256)
def _holiday_dates(country: str, subdivision: str | None, years: tuple[int, ...]) -> np.ndarray:
    try:
        calendar = holidays.country_holidays(country, subdiv=subdivision, years=years)
    except NotImplementedError:
        return np.array([], dtype="datetime64[D]")  # unknown country: no holidays known
    return np.array(sorted(calendar.keys()), dtype="datetime64[D]")


def holiday_flags(local_dates: pd.DatetimeIndex, city) -> np.ndarray:
    """True where the local date is a public holiday of the city's country (and state)."""
    if len(local_dates) == 0:
        return np.zeros(0, dtype=bool)
    years = tuple(range(int(local_dates.year.min()), int(local_dates.year.max()) + 1))
    country = (city.country or "").upper()
    subdivision = SUBDIVISION_BY_TIMEZONE.get(city.timezone) if country == "AU" else None
    dates = _holiday_dates(country, subdivision, years)
    return np.isin(local_dates.values.astype("datetime64[D]"), dates)


def _local_naive(index: pd.DatetimeIndex, tz: str) -> pd.DatetimeIndex:
    return index.tz_convert(tz).tz_localize(None)


def local_midnights(index: pd.DatetimeIndex, tz: str) -> pd.DatetimeIndex:
    """UTC instant of the local midnight that starts each timestamp's local day."""
    days = _local_naive(index, tz).normalize()
    return days.tz_localize(
        tz, ambiguous=np.ones(len(days), dtype=bool), nonexistent="shift_forward"
    ).tz_convert("UTC")


class _LocalLookup:
    """Values of a series addressed by local wall-clock time, restricted to < origin."""

    def __init__(self, series: pd.Series, tz: str):
        series = series.dropna()
        local = _local_naive(series.index, tz)
        # The repeated hour when DST ends maps twice to one wall-clock time: keep the first.
        keep = ~local.duplicated(keep="first")
        self.local_index = local[keep]
        self.values = series.to_numpy(dtype="float64")[keep]
        self.utc_ns = series.index.asi8[keep] if len(series) else np.zeros(0, dtype="int64")
        self.utc_unit = series.index.unit if len(series) else "ns"

    def get(self, local_times: pd.DatetimeIndex, origins_ns: np.ndarray) -> np.ndarray:
        out = np.full(len(local_times), np.nan)
        if len(self.values) == 0:
            return out
        positions = self.local_index.get_indexer(local_times.as_unit(self.local_index.unit))
        found = positions >= 0
        observed_at = self.utc_ns[positions[found]]
        # The guarantee against leakage: whatever wall-clock arithmetic did, a value
        # observed at or after the origin is never used.
        usable = observed_at < origins_ns[found]
        idx = np.flatnonzero(found)[usable]
        out[idx] = self.values[positions[idx]]
        return out


def _window_stats(demand: pd.Series, origins: pd.DatetimeIndex) -> tuple[np.ndarray, ...]:
    """Mean and max of demand in [origin - 24 h, origin), for every origin at once."""
    unique_origins, inverse = np.unique(origins.asi8, return_inverse=True)
    means = np.full(len(unique_origins), np.nan)
    maxes = np.full(len(unique_origins), np.nan)
    if len(demand):
        times = demand.index.as_unit(origins.unit).asi8
        values = demand.to_numpy(dtype="float64")
        lo = np.searchsorted(times, unique_origins - DAY.value // _ns_per(origins.unit), "left")
        hi = np.searchsorted(times, unique_origins, "left")
        cumsum = np.concatenate([[0.0], np.cumsum(values)])
        counts = hi - lo
        has = counts > 0
        means[has] = (cumsum[hi[has]] - cumsum[lo[has]]) / counts[has]
        for i in np.flatnonzero(has):
            maxes[i] = values[lo[i] : hi[i]].max()
    return means[inverse], maxes[inverse]


def _column(history: pd.DataFrame, name: str) -> pd.Series:
    if name in history:
        return history[name].astype("float64").dropna()
    return pd.Series(dtype="float64", index=pd.DatetimeIndex([], tz="UTC").as_unit("ns"))


def _ns_per(unit: str) -> int:
    return {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}[unit]


def feature_frame_for_pairs(
    history: pd.DataFrame, targets: pd.DatetimeIndex, origins: pd.DatetimeIndex, city
) -> pd.DataFrame:
    """Features of each target ``targets[i]`` as forecast from ``origins[i]`` (both UTC).

    ``history`` holds demand_mw and temperature_c on a UTC index. Demand is only read
    before each row's origin; temperature at the target is read wherever present
    (rows may carry an uploaded weather forecast) and otherwise estimated by
    persistence from the last week before the origin.
    """
    tz = city.timezone
    targets = pd.DatetimeIndex(targets).tz_convert("UTC").as_unit("ns")
    origins = pd.DatetimeIndex(origins).tz_convert("UTC").as_unit("ns")
    history = history.sort_index()
    history.index = history.index.as_unit("ns")
    demand = _column(history, TARGET_COLUMN)
    temperature = _column(history, "temperature_c")
    demand_lookup = _LocalLookup(demand, tz)
    temperature_lookup = _LocalLookup(temperature, tz)

    local = _local_naive(targets, tz)
    local_origin = _local_naive(origins, tz)
    origins_ns = origins.asi8
    # Days back to the same local slot on the latest day, and latest same weekday,
    # that lie strictly before the origin: 1 (and 1 week) for a day-ahead forecast.
    lead = (local - local_origin).to_numpy()
    days_back = (lead // np.timedelta64(1, "D")).astype("int64") + 1
    weeks_back = (lead // np.timedelta64(7, "D")).astype("int64") + 1
    lag_day_times = local - pd.to_timedelta(days_back, unit="D")
    lag_week_times = local - pd.to_timedelta(weeks_back * 7, unit="D")

    is_holiday = holiday_flags(local.normalize(), city)
    is_weekend = local.day_of_week.to_numpy() >= 5
    lag_day_dates = lag_day_times.normalize()
    lag_day_working = ~(holiday_flags(lag_day_dates, city) | (lag_day_dates.day_of_week >= 5))

    # Temperature at the target: observed or forecast when present, else persistence.
    temperature_now = temperature.reindex(targets).to_numpy(dtype="float64")
    missing = np.isnan(temperature_now)
    if missing.any():
        recent = np.column_stack(
            [
                temperature_lookup.get(local - pd.to_timedelta(days_back + k, unit="D"), origins_ns)
                for k in range(TEMPERATURE_PERSISTENCE_DAYS)
            ]
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=RuntimeWarning)  # all-NaN rows stay NaN
            persistence = np.nanmean(recent, axis=1)
        temperature_now = np.where(missing, persistence, temperature_now)

    mean_24h, max_24h = _window_stats(demand, origins)
    day_of_year = local.day_of_year.to_numpy()
    minutes = local.hour.to_numpy() * 60 + local.minute.to_numpy()
    frame = pd.DataFrame(
        {
            "slot": minutes // int(city.resolution_minutes),
            "day_of_week": local.day_of_week.to_numpy(),
            "month": local.month.to_numpy(),
            "day_of_year_sin": np.sin(2 * np.pi * day_of_year / 365.25),
            "day_of_year_cos": np.cos(2 * np.pi * day_of_year / 365.25),
            "is_holiday": is_holiday.astype("int8"),
            "is_working_day": (~(is_holiday | is_weekend)).astype("int8"),
            "temperature_c": temperature_now,
            "demand_lag_day": demand_lookup.get(lag_day_times, origins_ns),
            "demand_lag_week": demand_lookup.get(lag_week_times, origins_ns),
            "temperature_lag_day": temperature_lookup.get(lag_day_times, origins_ns),
            "lag_day_is_working_day": np.asarray(lag_day_working).astype("int8"),
            "demand_mean_24h": mean_24h,
            "demand_max_24h": max_24h,
        },
        index=targets.rename("timestamp"),
    )
    return frame[FEATURE_COLUMNS]


def build_feature_frame(
    history: pd.DataFrame, target_index: pd.DatetimeIndex, origin: pd.Timestamp, city
) -> pd.DataFrame:
    """Features of one forecast issued at ``origin`` for the intervals ``target_index``."""
    origin = pd.Timestamp(origin).tz_convert("UTC")
    origins = pd.DatetimeIndex([origin] * len(target_index))
    return feature_frame_for_pairs(history, target_index, origins, city)


def build_training_frame(history: pd.DataFrame, city) -> tuple[pd.DataFrame, pd.Series]:
    """Every observed interval as if forecast day-ahead from its local midnight.

    Rows without a week of history behind them (no weekly lag) are dropped.
    """
    demand = history[TARGET_COLUMN].dropna()
    targets = demand.index
    origins = local_midnights(targets, city.timezone)
    features = feature_frame_for_pairs(history, targets, origins, city)
    keep = features["demand_lag_week"].notna().to_numpy()
    return features[keep], demand[keep].rename(TARGET_COLUMN)
