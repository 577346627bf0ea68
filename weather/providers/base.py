"""The provider interface: a weather forecast for a point, as issued now."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import pandas as pd

from errors import Unavailable

# Columns of a forecast frame (hourly, UTC index): those of observed weather.
VALUE_COLUMNS = ("temperature_c", "humidity_pct", "wind_speed_ms", "irradiance_wm2")


class ProviderError(Unavailable):
    """The provider could not give a usable forecast (unreachable, timed out, an error
    status, a malformed answer); counted by its circuit breaker."""

    code = "weather_provider_error"


class ProviderUnavailable(ProviderError):
    """The provider's circuit breaker is open: not even tried."""

    code = "weather_provider_unavailable"


@dataclass
class IssuedForecast:
    provider: str
    issued_at: pd.Timestamp  # UTC: when this forecast was known
    frame: pd.DataFrame  # hourly UTC index, VALUE_COLUMNS (NaN where the provider had none)


class WeatherProvider(Protocol):
    name: str

    def fetch(
        self, *, latitude: float, longitude: float, days: int, credentials: dict
    ) -> IssuedForecast:
        """The provider's current forecast for the point; raises ProviderError."""
