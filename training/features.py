"""Feature engineering shared by training, backtest and inference (one code path).

Every demand feature of a target interval ``t`` forecast from origin ``o`` uses only
demand observed strictly before ``o`` (the as-of rule, enforced in
:class:`_LocalLookup` and :func:`_window_stats`). Weather features read the weather
rows wherever present: before the origin they are observations, from the origin on
they stand for a weather forecast (in the backtest, the observed temperature: the
"ex-post" protocol). Calendar features are computed in the city's local time zone, so
a "slot" is a local time of day and survives DST.

The core, :func:`feature_frame_for_pairs`, takes one origin per target row, which is
what makes it fast: the training matrix is every day forecast day-ahead from its own
local midnight, built in one vectorised pass, and an inference request is the same
function with a single origin repeated.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from training.calendar import calendar_features, non_working_flags

CALENDAR_COLUMNS = [
    "slot",
    "hour_sin",
    "hour_cos",
    "day_of_week",
    "week_sin",
    "week_cos",
    "day_of_year_sin",
    "day_of_year_cos",
    "is_holiday",
    "is_bridge_day",
    "is_working_day",
    "christmas_period",
    "days_from_christmas",
    "lag_day_is_working_day",
]
DEMAND_COLUMNS = [
    "demand_lag_day",
    "demand_lag_week",
    "demand_last",
    "demand_mean_24h",
    "demand_max_24h",
    "demand_min_24h",
]
TEMPERATURE_LAG_HOURS = (1, 2, 3, 4, 5, 6)
WEATHER_COLUMNS = [
    "temperature_c",
    *(f"temperature_lag_{h}h" for h in TEMPERATURE_LAG_HOURS),
    "temperature_mean_3h",
    "temperature_mean_24h",
    "temperature_max_day",
    "temperature_min_day",
    "temperature_max_prev_day",
    "temperature_lag_day",
    "heating_degrees",
    "cooling_degrees",
]
# Temperature observed strictly before the origin (the last 24 h and the same slot the
# day before): what a city without a weather forecast still knows. The no-weather model
# uses these; the weather model has the target day's temperature instead.
OBSERVED_WEATHER_COLUMNS = [
    "temperature_obs_last",
    "temperature_obs_mean_24h",
    "temperature_obs_max_24h",
    "temperature_obs_min_24h",
    "temperature_obs_lag_day",
]
FEATURE_COLUMNS = [*CALENDAR_COLUMNS, *DEMAND_COLUMNS, *WEATHER_COLUMNS]
NO_WEATHER_COLUMNS = [*CALENDAR_COLUMNS, *DEMAND_COLUMNS, *OBSERVED_WEATHER_COLUMNS]
# Which local day after the origin's a target falls on (1 = the first 24 hours): the
# demand lags are that many days old. Only models trained on several leads use it.
LEAD_COLUMN = "lead_days"
ALL_COLUMNS = [*FEATURE_COLUMNS, *OBSERVED_WEATHER_COLUMNS, LEAD_COLUMN]
TARGET_COLUMN = "demand_mw"
DAY = pd.Timedelta(days=1)
WEEK = pd.Timedelta(days=7)
HEATING_BASE_C = 18.0
COOLING_BASE_C = 22.0


def feature_columns(with_weather: bool, multi_lead: bool = False) -> list[str]:
    columns = list(FEATURE_COLUMNS if with_weather else NO_WEATHER_COLUMNS)
    return [*columns, LEAD_COLUMN] if multi_lead else columns


def issue_midnights(targets: pd.DatetimeIndex, lead: int, tz: str) -> pd.DatetimeIndex:
    """The local midnight ``lead - 1`` days before each target's local day (UTC)."""
    own = local_midnights(targets, tz)
    # Noon of the issue day, then its midnight: whole days in UTC may cross a DST change.
    return local_midnights(own - pd.Timedelta(days=lead - 1) + pd.Timedelta(hours=12), tz)


def lead_days(targets: pd.DatetimeIndex, origins: pd.DatetimeIndex, tz: str) -> np.ndarray:
    """1 for targets in the 24 hours from their origin (local clock), 2 for the next day..."""
    return _lead_days((_local_naive(targets, tz) - _local_naive(origins, tz)).to_numpy())


def _lead_days(lead: np.ndarray) -> np.ndarray:
    """Whole local days from origin to target (timedelta64 array), plus one."""
    return (lead // np.timedelta64(1, "D")).astype("int64") + 1


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


def _window_stats(demand: pd.Series, origins: pd.DatetimeIndex) -> dict[str, np.ndarray]:
    """Last value, mean, max and min of demand in [origin - 24 h, origin), per origin."""
    unique_origins, inverse = np.unique(origins.asi8, return_inverse=True)
    stats = {name: np.full(len(unique_origins), np.nan) for name in ("last", "mean", "max", "min")}
    if len(demand):
        times = demand.index.asi8
        values = demand.to_numpy(dtype="float64")
        lo = np.searchsorted(times, unique_origins - DAY.value, "left")
        hi = np.searchsorted(times, unique_origins, "left")  # strictly before the origin
        cumsum = np.concatenate([[0.0], np.cumsum(values)])
        has = hi > lo
        stats["mean"][has] = (cumsum[hi[has]] - cumsum[lo[has]]) / (hi - lo)[has]
        stats["last"][has] = values[hi[has] - 1]
        for i in np.flatnonzero(has):
            window = values[lo[i] : hi[i]]
            stats["max"][i], stats["min"][i] = window.max(), window.min()
    return {name: column[inverse] for name, column in stats.items()}


def _fill_by_utc(values, demand, targets, days_back, origins_ns) -> np.ndarray:
    """Where a local slot has no twin the day before (DST days), take 24 h back in UTC."""
    missing = np.isnan(values)
    if not missing.any() or len(demand) == 0:
        return values
    back = targets[missing] - pd.to_timedelta(days_back[missing], unit="D")
    found = demand.reindex(back).to_numpy(dtype="float64")
    usable = back.asi8 < origins_ns[missing]  # the as-of rule, again
    out = values.copy()
    out[np.flatnonzero(missing)[usable]] = found[usable]
    return out


def _column(history: pd.DataFrame, name: str) -> pd.Series:
    if name in history:
        return history[name].astype("float64").dropna()
    return pd.Series(dtype="float64", index=pd.DatetimeIndex([], tz="UTC").as_unit("ns"))


def _weather_features(
    temperature: pd.Series, targets: pd.DatetimeIndex, local: pd.DatetimeIndex, tz: str
) -> dict[str, np.ndarray]:
    """Temperature at, before and around each target (observed or forecast)."""
    n = len(targets)
    if len(temperature) == 0:
        return {name: np.full(n, np.nan) for name in WEATHER_COLUMNS}
    at = temperature.reindex(targets).to_numpy()
    mean_3h = temperature.rolling("3h").mean().reindex(targets).to_numpy()
    mean_24h = temperature.rolling("24h").mean().reindex(targets).to_numpy()
    local_dates = _local_naive(temperature.index, tz).normalize()
    daily = temperature.groupby(local_dates).agg(["max", "min"])
    target_dates = local.normalize()
    out = {
        "temperature_c": at,
        **{
            f"temperature_lag_{h}h": temperature.reindex(targets - pd.Timedelta(hours=h)).to_numpy()
            for h in TEMPERATURE_LAG_HOURS
        },
        "temperature_mean_3h": mean_3h,
        "temperature_mean_24h": mean_24h,
        "temperature_max_day": daily["max"].reindex(target_dates).to_numpy(),
        "temperature_min_day": daily["min"].reindex(target_dates).to_numpy(),
        "temperature_max_prev_day": daily["max"].reindex(target_dates - DAY).to_numpy(),
        "temperature_lag_day": temperature.reindex(targets - DAY).to_numpy(),
        "heating_degrees": np.maximum(HEATING_BASE_C - mean_24h, 0.0),
        "cooling_degrees": np.maximum(at - COOLING_BASE_C, 0.0),
    }
    return out


def feature_frame_for_pairs(
    history: pd.DataFrame, targets: pd.DatetimeIndex, origins: pd.DatetimeIndex, city
) -> pd.DataFrame:
    """Features of each target ``targets[i]`` as forecast from ``origins[i]`` (both UTC).

    ``history`` holds demand_mw and temperature_c on a UTC index. Demand is only read
    before each row's origin; temperature is read wherever present.
    """
    tz = city.timezone
    targets = pd.DatetimeIndex(targets).tz_convert("UTC").as_unit("ns")
    origins = pd.DatetimeIndex(origins).tz_convert("UTC").as_unit("ns")
    history = history.sort_index()
    history.index = history.index.as_unit("ns")
    demand = _column(history, TARGET_COLUMN)
    demand_lookup = _LocalLookup(demand, tz)

    local = _local_naive(targets, tz)
    local_origin = _local_naive(origins, tz)
    origins_ns = origins.asi8
    # Days back to the same local slot on the latest day, and latest same weekday,
    # that lie strictly before the origin: 1 (and 1 week) for a day-ahead forecast.
    lead = (local - local_origin).to_numpy()
    days_back = _lead_days(lead)
    weeks_back = (lead // np.timedelta64(7, "D")).astype("int64") + 1
    lag_day_times = local - pd.to_timedelta(days_back, unit="D")
    lag_week_times = local - pd.to_timedelta(weeks_back * 7, unit="D")

    calendar = calendar_features(local, city, int(city.resolution_minutes))
    lag_day_dates = lag_day_times.normalize()
    lag_day_working = ~non_working_flags(lag_day_dates, city)
    window = _window_stats(demand, origins)
    temperature = _column(history, "temperature_c")
    observed = _window_stats(temperature, origins)  # strictly before the origin
    frame = pd.DataFrame(
        {
            **calendar,
            "lag_day_is_working_day": np.asarray(lag_day_working).astype("int8"),
            "demand_lag_day": _fill_by_utc(
                demand_lookup.get(lag_day_times, origins_ns), demand, targets, days_back, origins_ns
            ),
            "demand_lag_week": demand_lookup.get(lag_week_times, origins_ns),
            "demand_last": window["last"],
            "demand_mean_24h": window["mean"],
            "demand_max_24h": window["max"],
            "demand_min_24h": window["min"],
            **_weather_features(temperature, targets, local, tz),
            "temperature_obs_last": observed["last"],
            "temperature_obs_mean_24h": observed["mean"],
            "temperature_obs_max_24h": observed["max"],
            "temperature_obs_min_24h": observed["min"],
            "temperature_obs_lag_day": _LocalLookup(temperature, tz).get(lag_day_times, origins_ns),
            LEAD_COLUMN: days_back,
        },
        index=targets.rename("timestamp"),
    )
    return frame[ALL_COLUMNS]


def build_feature_frame(
    history: pd.DataFrame, target_index: pd.DatetimeIndex, origin: pd.Timestamp, city
) -> pd.DataFrame:
    """Features of one forecast issued at ``origin`` for the intervals ``target_index``."""
    origin = pd.Timestamp(origin).tz_convert("UTC")
    origins = pd.DatetimeIndex([origin] * len(target_index))
    return feature_frame_for_pairs(history, target_index, origins, city)


# Every feature of a target reads history no older than this before its origin: the
# weekly lag (7 days before the origin at most, see ``weeks_back``), the previous local
# day's temperature, the 24-hour windows; a day more for DST and slack.
LOOKBACK = pd.Timedelta(days=9)
SHARED_COLUMNS = (TARGET_COLUMN, "temperature_c")  # what feature_frame_for_pairs reads


def feature_frames_for_items(items, city) -> list[pd.DataFrame]:
    """``build_feature_frame`` of each (history, targets, origin) of one city, in one
    vectorised pass where the histories allow it (batched inference).

    Forecasts of one city read the same observations, so their histories can be merged:
    demand is read strictly before each row's own origin anyway. A forecast joins the
    merged pass only if the merged history holds exactly its own demand before its
    origin and its own temperature up to the end of its last target's local day, back
    to LOOKBACK before the origin (what its features read): one whose weather forecast
    differs from the observations, or whose history is cut short, is built on its own.
    The values equal the per-forecast ones up to float rounding of the running sums.
    """
    if len(items) < 2:
        return [build_feature_frame(h, t, o, city) for h, t, o in items]
    merged = _merged_history([history for history, _, _ in items])
    arrays = {name: (merged.index.asi8, merged[name].to_numpy(dtype="float64")) for name in merged}
    targets = [pd.DatetimeIndex(t).tz_convert("UTC").as_unit("ns") for _, t, _ in items]
    origins = [pd.Timestamp(o).tz_convert("UTC").value for _, _, o in items]
    ends = local_day_ends(
        [t[-1] if len(t) else pd.Timestamp(0, tz="UTC") for t in targets], city.timezone
    )
    shared = [
        k
        for k, (history, _, _) in enumerate(items)
        if len(targets[k]) and _history_agrees(arrays, history, origins[k], ends[k])
    ]
    out: list[pd.DataFrame | None] = [None] * len(items)
    if len(shared) > 1:
        rows = [targets[k] for k in shared]
        stacked_targets = np.concatenate([t.asi8 for t in rows])
        stacked_origins = np.concatenate([np.full(len(targets[k]), origins[k]) for k in shared])
        frame = feature_frame_for_pairs(
            merged,
            pd.DatetimeIndex(stacked_targets).tz_localize("UTC"),
            pd.DatetimeIndex(stacked_origins).tz_localize("UTC"),
            city,
        )
        bounds = np.cumsum([0, *(len(t) for t in rows)])
        for k, a, b in zip(shared, bounds[:-1], bounds[1:], strict=True):
            out[k] = frame.iloc[a:b]
    for k, (h, t, o) in enumerate(items):
        if out[k] is None:
            out[k] = build_feature_frame(h, t, o, city)
    return out  # type: ignore[return-value]


def _merged_history(histories: list[pd.DataFrame]) -> pd.DataFrame:
    """Every timestamp of ``histories`` with the first known demand and temperature."""
    stamps = [_utc_ns(h.index) for h in histories]
    index = np.unique(np.concatenate(stamps))
    columns = {}
    for name in SHARED_COLUMNS:
        present = [
            (t, h[name].to_numpy(dtype="float64"))
            for t, h in zip(stamps, histories, strict=True)
            if name in h
        ]
        if not present:
            continue
        times = np.concatenate([t for t, _ in present])
        values = np.concatenate([v for _, v in present])
        known = ~np.isnan(values)
        times, values = times[known], values[known]
        column = np.full(len(index), np.nan)
        unique, first = np.unique(times, return_index=True)  # the first known value
        column[np.searchsorted(index, unique)] = values[first]
        columns[name] = column
    return pd.DataFrame(columns, index=pd.DatetimeIndex(index).tz_localize("UTC"))


def _utc_ns(index) -> np.ndarray:
    index = pd.DatetimeIndex(index)
    if str(index.dtype) != "datetime64[ns, UTC]":
        index = index.tz_convert("UTC").as_unit("ns")
    return index.asi8


def local_day_ends(lasts: list[pd.Timestamp], tz: str) -> np.ndarray:
    """The end (UTC ns) of the local day of each timestamp: the next local midnight."""
    own = local_midnights(pd.DatetimeIndex(lasts).tz_convert("UTC"), tz)
    return local_midnights(own + pd.Timedelta(hours=36), tz).asi8


def _known(index_ns: np.ndarray, values: np.ndarray, lo: int, hi: int):
    """Timestamps and values of the known entries in [lo, hi) of a sorted series."""
    a, b = np.searchsorted(index_ns, [lo, hi], "left")
    window = values[a:b]
    keep = ~np.isnan(window)
    return index_ns[a:b][keep], window[keep]


def _history_agrees(arrays, history: pd.DataFrame, origin: int, day_end: int) -> bool:
    """True if every value the features of a forecast from ``origin`` (UTC ns) read is
    the same in the merged history as in its own: demand back to LOOKBACK before the
    origin, temperature from there to ``day_end``, the end of its last target's local
    day (the daily extremes read all of it). See feature_frames_for_items."""
    lo = origin - LOOKBACK.value
    ranges = {TARGET_COLUMN: (lo, origin), "temperature_c": (lo, day_end)}
    own_index = _utc_ns(history.index)
    if len(own_index) == 0 or own_index[0] > lo or np.any(np.diff(own_index) <= 0):
        return False
    for name, (start, end) in ranges.items():
        own_values = (
            history[name].to_numpy(dtype="float64")
            if name in history
            else np.full(len(own_index), np.nan)
        )
        mine = _known(own_index, own_values, start, end)
        if name in arrays:
            theirs = _known(*arrays[name], start, end)
        else:
            theirs = (np.zeros(0, dtype="int64"), np.zeros(0))
        if not (np.array_equal(mine[0], theirs[0]) and np.array_equal(mine[1], theirs[1])):
            return False
    return True


def build_training_frame(
    history: pd.DataFrame, city, leads: tuple[int, ...] = (1,), thin: int = 1
) -> tuple[pd.DataFrame, pd.Series]:
    """Every observed interval as if forecast from the local midnight ``lead - 1`` days
    before its own day, for each lead (the default: day-ahead only).

    ``thin`` > 1 keeps, for each lead, one local day in ``thin`` (a different one per
    lead, so every day still appears): a model of six leads then fits on three years'
    worth of rows instead of six. Rows without a week of history behind them (no
    weekly lag) are dropped.
    """
    demand = history[TARGET_COLUMN].dropna()
    tz = city.timezone
    day_numbers = (_local_naive(demand.index, tz).normalize() - pd.Timestamp(0)).days.to_numpy()
    frames, targets = [], []
    for lead in leads:
        rows = (day_numbers + lead) % thin == 0
        origins = issue_midnights(demand.index[rows], lead, tz)
        features = feature_frame_for_pairs(history, demand.index[rows], origins, city)
        keep = features["demand_lag_week"].notna().to_numpy()
        frames.append(features[keep])
        targets.append(demand[rows][keep])
    return pd.concat(frames), pd.concat(targets).rename(TARGET_COLUMN)
