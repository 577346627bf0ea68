"""Weather providers by name, each behind its own circuit breaker (pybreaker).

A breaker opens after ``WEATHER_BREAKER_FAIL_MAX`` failures in a row (errors,
timeouts, malformed answers); while open, calls fail at once with
ProviderUnavailable; after ``WEATHER_BREAKER_RESET_SECONDS`` one half-open probe goes
through, and its success closes the breaker. State is per process (each worker learns
on its own: a few extra probes, no shared state to lose).
"""

from __future__ import annotations

import pybreaker
from django.conf import settings

from errors import InvalidInput
from weather.providers.base import (
    IssuedForecast,
    ProviderError,
    ProviderUnavailable,
    WeatherProvider,
)
from weather.providers.open_meteo import OpenMeteoProvider

__all__ = [
    "IssuedForecast",
    "ProviderError",
    "ProviderUnavailable",
    "WeatherProvider",
    "provider_fetch",
    "provider_get",
    "breaker_for",
]

_breakers: dict[str, pybreaker.CircuitBreaker] = {}


def provider_get(name: str) -> WeatherProvider:
    if name == "open-meteo":
        return OpenMeteoProvider(settings.WEATHER_OPEN_METEO_URL, settings.WEATHER_TIMEOUT_SECONDS)
    raise InvalidInput(f"Unknown weather provider {name!r}.", code="unknown_weather_provider")


def breaker_for(name: str) -> pybreaker.CircuitBreaker:
    breaker = _breakers.get(name)
    settings_now = (settings.WEATHER_BREAKER_FAIL_MAX, settings.WEATHER_BREAKER_RESET_SECONDS)
    if breaker is None or (breaker.fail_max, breaker.reset_timeout) != settings_now:
        breaker = pybreaker.CircuitBreaker(
            fail_max=settings_now[0], reset_timeout=settings_now[1], name=name
        )
        _breakers[name] = breaker
    return breaker


def provider_fetch(
    name: str, *, latitude: float, longitude: float, days: int, credentials: dict
) -> IssuedForecast:
    """The provider's forecast through its breaker; ProviderError or ProviderUnavailable."""
    provider = provider_get(name)
    try:
        return breaker_for(name).call(
            provider.fetch,
            latitude=latitude,
            longitude=longitude,
            days=days,
            credentials=credentials,
        )
    except pybreaker.CircuitBreakerError as exc:
        cause = exc.__context__ if isinstance(exc.__context__, ProviderError) else None
        message = cause.message if cause else f"{name}: too many failures in a row"
        raise ProviderUnavailable(
            f"{message} (circuit open; next probe within "
            f"{settings.WEATHER_BREAKER_RESET_SECONDS:.0f} s)."
        ) from None
