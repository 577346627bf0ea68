"""Open-Meteo's forecast API (https://open-meteo.com/en/docs): no key needed, or an
``apikey`` for the commercial plan (a provider credential).

One GET per city: ``latitude``, ``longitude``, ``hourly=temperature_2m,
relative_humidity_2m,wind_speed_10m,shortwave_radiation``, ``timezone=GMT``,
``wind_speed_unit=ms``, ``forecast_days``. The answer's ``hourly.time`` (local times
of ``utc_offset_seconds``, here 0) and one array per variable become an hourly UTC
frame; nulls stay missing hours.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import requests
from django.utils import timezone

from weather.providers.base import VALUE_COLUMNS, IssuedForecast, ProviderError

NAME = "open-meteo"
VARIABLES = {
    "temperature_2m": "temperature_c",
    "relative_humidity_2m": "humidity_pct",
    "wind_speed_10m": "wind_speed_ms",
    "shortwave_radiation": "irradiance_wm2",
}


class OpenMeteoProvider:
    name = NAME

    def __init__(self, url: str, timeout: tuple[float, float]):
        self.url = url
        self.timeout = timeout

    def fetch(
        self, *, latitude: float, longitude: float, days: int, credentials: dict
    ) -> IssuedForecast:
        params = {
            "latitude": f"{latitude:.4f}",
            "longitude": f"{longitude:.4f}",
            "hourly": ",".join(VARIABLES),
            "timezone": "GMT",
            "wind_speed_unit": "ms",
            "forecast_days": days,
        }
        if credentials.get("apikey"):
            params["apikey"] = credentials["apikey"]
        issued_at = pd.Timestamp(timezone.now()).tz_convert("UTC")
        try:
            response = requests.get(self.url, params=params, timeout=self.timeout)
        except requests.Timeout:
            raise ProviderError(f"{NAME} did not answer within {self.timeout[1]:g} s.") from None
        except requests.RequestException as exc:
            raise ProviderError(f"{NAME} could not be reached: {type(exc).__name__}.") from None
        if response.status_code != 200:
            raise ProviderError(f"{NAME} answered HTTP {response.status_code}.")
        try:
            body = response.json()
        except ValueError:
            raise ProviderError(f"{NAME} answered something that is not JSON.") from None
        return IssuedForecast(NAME, issued_at, open_meteo_frame(body))


def open_meteo_frame(body) -> pd.DataFrame:
    """The hourly UTC frame of an Open-Meteo answer; ProviderError if malformed."""
    try:
        hourly = body["hourly"]
        offset = pd.Timedelta(seconds=int(body.get("utc_offset_seconds") or 0))
        times = pd.DatetimeIndex(pd.to_datetime(hourly["time"], format="ISO8601")) - offset
    except (KeyError, TypeError, ValueError) as exc:
        raise ProviderError(f"{NAME} answered without a usable hourly.time ({exc}).") from None
    if times.tz is not None:
        raise ProviderError(f"{NAME} answered times with an offset; asked for GMT.")
    if len(times) == 0 or not times.is_unique or not times.is_monotonic_increasing:
        raise ProviderError(f"{NAME} answered empty, repeated or unordered hours.")
    frame = pd.DataFrame(index=times.tz_localize("UTC"), columns=list(VALUE_COLUMNS), dtype=float)
    for variable, column in VARIABLES.items():
        values = hourly.get(variable)
        if values is None:
            continue
        if not isinstance(values, list) or len(values) != len(times):
            raise ProviderError(f"{NAME} answered {variable} of another length than time.")
        try:
            frame[column] = np.array([np.nan if v is None else float(v) for v in values])
        except (TypeError, ValueError):
            raise ProviderError(f"{NAME} answered non-numeric {variable}.") from None
    if frame["temperature_c"].isna().all():
        raise ProviderError(f"{NAME} answered no temperature.")
    # The hours must be whole and regular; gaps in the grid are missing hours.
    if (times != times.floor("h")).any():
        raise ProviderError(f"{NAME} answered times that are not whole hours.")
    grid = pd.date_range(frame.index[0], frame.index[-1], freq="h")
    return frame.reindex(grid)
