"""Per-interval availability of a source, per unit of its capacity (0..1).

Sources with ``availability_model`` pv or wind follow the weather (pvlib, windpowerlib:
availability_weather.py); PV without irradiance for the horizon uses pvlib's clear sky,
wind without wind speed falls back to the stored profile. Otherwise a source's 24-value
``availability_profile`` (by local hour in the city's time zone) wins; solar without one
follows a simple clear-sky bell, and every other source uses its constant
``availability``.
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
    weather: pd.DataFrame | None = None,
) -> np.ndarray:
    """Availability of one GenerationSource (any object with its fields) per interval."""
    values, _ = source_availability_with_basis(
        source, timestamps, timezone=timezone, latitude=latitude, longitude=longitude,
        dt_hours=dt_hours, weather=weather,
    )  # fmt: skip
    return values


def _weather_column(weather: pd.DataFrame | None, column: str) -> np.ndarray | None:
    """A complete weather series over the horizon, or None (gaps of an interval or two
    are interpolated; anything longer and the source falls back)."""
    if weather is None or column not in weather or weather[column].isna().all():
        return None
    series = weather[column].astype(float).interpolate(limit=2, limit_direction="both")
    return None if series.isna().any() else series.to_numpy()


def source_availability_with_basis(
    source,
    timestamps: pd.DatetimeIndex,
    *,
    timezone: str,
    latitude: float,
    longitude: float,
    dt_hours: float,
    weather: pd.DataFrame | None = None,
) -> tuple[np.ndarray, str]:
    """(availability per interval, where it came from).

    ``weather`` is indexed like ``timestamps`` with temperature_c, wind_speed_ms and
    irradiance_wm2 columns (NaN where unknown). The basis is one of pv_weather,
    pv_clear_sky, wind_weather, profile, clear_sky_bell or constant.
    """
    from optimization.availability_weather import pv_per_unit, wind_per_unit

    model = getattr(source, "availability_model", "profile") or "profile"
    derate = float(source.availability)
    if model == "pv":
        ghi = _weather_column(weather, "irradiance_wm2")
        values = pv_per_unit(
            timestamps, latitude=latitude, longitude=longitude, dt_hours=dt_hours,
            ghi_wm2=ghi, temperature_c=_weather_column(weather, "temperature_c"),
            wind_speed_ms=_weather_column(weather, "wind_speed_ms"),
            tilt_deg=getattr(source, "pv_tilt_deg", None),
            azimuth_deg=getattr(source, "pv_azimuth_deg", None),
        )  # fmt: skip
        return np.clip(
            values * derate, 0.0, 1.0
        ), "pv_weather" if ghi is not None else "pv_clear_sky"
    if model == "wind":
        speed = _weather_column(weather, "wind_speed_ms")
        if speed is not None:
            values = wind_per_unit(
                speed,
                turbine_type=getattr(source, "turbine_type", "") or "",
                hub_height_m=getattr(source, "hub_height_m", None) or 100.0,
            )
            return np.clip(values * derate, 0.0, 1.0), "wind_weather"
    if source.availability_profile:
        values = profile_by_local_hour(timestamps, timezone, source.availability_profile)
        return np.clip(values, 0.0, 1.0), "profile"
    if source.kind == "solar":
        values = solar_clear_sky(timestamps, latitude, longitude, dt_hours) * derate
        return np.clip(values, 0.0, 1.0), "clear_sky_bell"
    return np.clip(np.full(len(timestamps), derate), 0.0, 1.0), "constant"
