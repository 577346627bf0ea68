"""Calendar features in the city's local time: holidays, bridge days, Christmas, cycles."""

from __future__ import annotations

from functools import lru_cache

import holidays
import numpy as np
import pandas as pd

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
# Offices and factories close between Christmas and the first working days of January.
CHRISTMAS_PERIOD = ((12, 24), (1, 2))
# Weekdays of the shutdown count as non-working days: a year of history holds no
# Christmas week to learn that from (in Victoria 2014, Monday 29 December used as much
# electricity as the Sunday before it).
SHUTDOWN = ((12, 27), (1, 2))
DAYS_FROM_CHRISTMAS_CLIP = 21


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
    # One year either side: bridge days and Christmas distances look across new year.
    years = tuple(range(int(local_dates.year.min()) - 1, int(local_dates.year.max()) + 2))
    country = (city.country or "").upper()
    subdivision = SUBDIVISION_BY_TIMEZONE.get(city.timezone) if country == "AU" else None
    dates = _holiday_dates(country, subdivision, years)
    return np.isin(local_dates.values.astype("datetime64[D]"), dates)


def _in_period(dates: pd.DatetimeIndex, period) -> np.ndarray:
    (start_month, start_day), (end_month, end_day) = period
    month, day = dates.month.to_numpy(), dates.day.to_numpy()
    return ((month == start_month) & (day >= start_day)) | ((month == end_month) & (day <= end_day))


def christmas_period_flags(local: pd.DatetimeIndex) -> np.ndarray:
    """True where the naive local time falls in CHRISTMAS_PERIOD (any year)."""
    return _in_period(pd.DatetimeIndex(local), CHRISTMAS_PERIOD)


def non_working_flags(dates: pd.DatetimeIndex, city) -> np.ndarray:
    """Weekends, public holidays and the Christmas shutdown, for naive local dates."""
    dates = pd.DatetimeIndex(dates)
    return holiday_flags(dates, city) | (dates.day_of_week >= 5) | _in_period(dates, SHUTDOWN)


def _day_flags(dates: pd.DatetimeIndex, city) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Holiday, bridge day and working day for each (naive, normalised) local date."""
    holiday = holiday_flags(dates, city)
    before, after = dates - pd.Timedelta(days=1), dates + pd.Timedelta(days=1)
    holiday_before, holiday_after = holiday_flags(before, city), holiday_flags(after, city)
    off = non_working_flags(dates, city)
    off_before = non_working_flags(before, city)
    off_after = non_working_flags(after, city)
    # A working day squeezed between a holiday and a weekend (or two holidays): many
    # take it off, so it behaves half like a holiday.
    bridge = ~off & off_before & off_after & (holiday_before | holiday_after)
    return holiday, np.asarray(bridge), np.asarray(~off)


def sunday_likeness(dates: pd.DatetimeIndex, city) -> np.ndarray:
    """How far each (naive, normalised) local date behaves like a Sunday, 0..1.

    1 for a weekday off (a public holiday or the Christmas shutdown), 0.5 for a bridge
    day, 0 otherwise (weekends are themselves). For models that know only the weekly
    cycle (training/families/statistical.py): a holiday is forecast as a Sunday, the
    usual rule when no holiday has been seen to learn from.
    """
    dates = pd.DatetimeIndex(dates)
    if len(dates) == 0:
        return np.zeros(0)
    _, bridge, working = _day_flags(dates, city)
    weekday_off = ~working & (dates.day_of_week.to_numpy() < 5)
    return np.where(weekday_off, 1.0, np.where(bridge, 0.5, 0.0))


def _days_from_christmas(dates: pd.DatetimeIndex) -> np.ndarray:
    years = dates.year.to_numpy()
    day = dates.values.astype("datetime64[D]")
    nearest = None
    for offset in (-1, 0, 1):
        # 25 December of each year, in numpy (pd.to_datetime of a year/month/day frame
        # was a fifth of a forecast's feature time).
        first_of_year = (years + offset - 1970).astype("datetime64[Y]")
        december = first_of_year.astype("datetime64[M]") + np.timedelta64(11, "M")
        christmas = december.astype("datetime64[D]") + np.timedelta64(24, "D")
        delta = (day - christmas).astype("int64")
        nearest = (
            delta if nearest is None else np.where(np.abs(delta) < np.abs(nearest), delta, nearest)
        )
    return np.clip(nearest, -DAYS_FROM_CHRISTMAS_CLIP, DAYS_FROM_CHRISTMAS_CLIP)


def calendar_features(local: pd.DatetimeIndex, city, resolution_minutes: int) -> dict:
    """Calendar columns for naive local timestamps (one entry per target)."""
    dates = local.normalize()
    unique_dates, inverse = np.unique(dates.values, return_inverse=True)
    unique_dates = pd.DatetimeIndex(unique_dates)
    holiday, bridge, working = (flags[inverse] for flags in _day_flags(unique_dates, city))
    from_christmas = _days_from_christmas(unique_dates)[inverse]
    christmas = christmas_period_flags(local)
    minutes = local.hour.to_numpy() * 60 + local.minute.to_numpy()
    day_of_year = local.day_of_year.to_numpy()
    week_position = (local.day_of_week.to_numpy() * 1440 + minutes) / (7 * 1440)
    return {
        "slot": minutes // resolution_minutes,
        "hour_sin": np.sin(2 * np.pi * minutes / 1440),
        "hour_cos": np.cos(2 * np.pi * minutes / 1440),
        "day_of_week": local.day_of_week.to_numpy(),
        "week_sin": np.sin(2 * np.pi * week_position),
        "week_cos": np.cos(2 * np.pi * week_position),
        "day_of_year_sin": np.sin(2 * np.pi * day_of_year / 365.25),
        "day_of_year_cos": np.cos(2 * np.pi * day_of_year / 365.25),
        "is_holiday": holiday.astype("int8"),
        "is_bridge_day": bridge.astype("int8"),
        "is_working_day": working.astype("int8"),
        "christmas_period": christmas.astype("int8"),
        "days_from_christmas": from_christmas,
    }
