"""Per-interval availability of a source, per unit of its capacity (0..1).

A source's 24-value ``availability_profile`` (by local hour in the city's time zone)
wins; otherwise solar follows a clear-sky bell between sunrise and sunset computed
from latitude, longitude and day of year (no network, no weather yet: pvlib and
windpowerlib come later), and every other source uses its constant ``availability``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

# Per-unit output of a clear-sky PV fleet when the sun is overhead: inverter
# clipping, soiling and temperature keep real fleets well below nameplate.
SOLAR_PEAK_PER_UNIT = 0.8


def profile_by_local_hour(timestamps: pd.DatetimeIndex, timezone: str, profile) -> np.ndarray:
    """Look each interval's local hour up in a 24-value profile."""
    local_hours = timestamps.tz_convert(timezone).hour
    return np.asarray(profile, dtype=float)[np.asarray(local_hours)]


def solar_clear_sky(
    timestamps: pd.DatetimeIndex, latitude: float, longitude: float, dt_hours: float
) -> np.ndarray:
    """A bell between sunrise and sunset: the sine of the sun's elevation.

    Evaluated at each interval's midpoint (timestamps are interval starts), from
    the solar declination for the day of year and the hour angle from UTC and
    longitude; accurate to a few minutes, which is plenty for a fleet plan.
    """
    midpoints = timestamps.tz_convert("UTC") + pd.Timedelta(hours=dt_hours / 2)
    day_of_year = np.asarray(midpoints.day_of_year, dtype=float)
    utc_hours = np.asarray(midpoints.hour + midpoints.minute / 60.0, dtype=float)
    declination = np.radians(23.44) * np.sin(2 * np.pi * (284 + day_of_year) / 365)
    solar_time = utc_hours + longitude / 15.0
    hour_angle = np.radians(15.0 * (solar_time - 12.0))
    lat = np.radians(latitude)
    sin_elevation = np.sin(lat) * np.sin(declination) + np.cos(lat) * np.cos(declination) * np.cos(
        hour_angle
    )
    return np.clip(SOLAR_PEAK_PER_UNIT * sin_elevation, 0.0, 1.0)


def source_availability(
    source,
    timestamps: pd.DatetimeIndex,
    *,
    timezone: str,
    latitude: float,
    longitude: float,
    dt_hours: float,
) -> np.ndarray:
    """Availability of one GenerationSource (any object with its fields) per interval."""
    if source.availability_profile:
        values = profile_by_local_hour(timestamps, timezone, source.availability_profile)
    elif source.kind == "solar":
        values = solar_clear_sky(timestamps, latitude, longitude, dt_hours) * source.availability
    else:
        values = np.full(len(timestamps), float(source.availability))
    return np.clip(values, 0.0, 1.0)
