"""Uploaded weather forecast files: CSV with ``valid_for`` (ISO 8601 with offset) and
value columns (``temperature_c`` and optionally ``humidity_pct``, ``wind_speed_ms``,
``irradiance_wm2``), one row per hour; ``issued_at`` is given with the upload."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd

from errors import InvalidInput
from weather.providers.base import VALUE_COLUMNS, IssuedForecast

NAME = "upload"
MAX_ROWS = 24 * 16


def uploaded_forecast_parse(data: bytes, issued_at: pd.Timestamp) -> IssuedForecast:
    """The hourly frame of an uploaded file; InvalidInput (400) naming what is wrong."""
    try:
        frame = pd.read_csv(io.BytesIO(data), nrows=MAX_ROWS + 1)
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise InvalidInput(f"Not a readable CSV file: {exc}", code="invalid_weather_file") from None
    if "valid_for" not in frame or "temperature_c" not in frame:
        raise InvalidInput(
            "The file needs the columns valid_for and temperature_c.", code="invalid_weather_file"
        )
    if len(frame) == 0 or len(frame) > MAX_ROWS:
        raise InvalidInput(
            f"The file needs 1..{MAX_ROWS} hourly rows.", code="invalid_weather_file"
        )
    unknown = sorted(set(frame.columns) - {"valid_for", *VALUE_COLUMNS})
    if unknown:
        raise InvalidInput(f"Unknown columns {unknown}.", code="invalid_weather_file")
    try:
        times = pd.DatetimeIndex(pd.to_datetime(frame["valid_for"], format="ISO8601"))
    except (ValueError, TypeError) as exc:
        raise InvalidInput(f"valid_for: {exc}", code="invalid_weather_file") from None
    if times.tz is None:
        raise InvalidInput("valid_for needs a UTC offset.", code="invalid_weather_file")
    times = times.tz_convert("UTC")
    if not times.is_unique or (times != times.floor("h")).any():
        raise InvalidInput("valid_for must be distinct whole hours.", code="invalid_weather_file")
    values = frame.drop(columns="valid_for").apply(pd.to_numeric, errors="coerce")
    bad = values.isna() & frame.drop(columns="valid_for").notna()
    if bad.any().any():
        raise InvalidInput("Values must be numbers.", code="invalid_weather_file")
    if (
        not np.isfinite(values["temperature_c"].dropna()).all()
        or (values["temperature_c"].abs() > 70).any()
    ):
        raise InvalidInput("temperature_c out of range.", code="invalid_weather_file")
    values.index = times
    values = values.sort_index().reindex(columns=list(VALUE_COLUMNS))
    grid = pd.date_range(values.index[0], values.index[-1], freq="h")
    return IssuedForecast(NAME, issued_at, values.reindex(grid).astype("float64"))
