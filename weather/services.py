"""Writes of the weather app: store vintages, collect them from providers (beat), accept
uploaded forecast files, keep provider credentials (encrypted) and health."""

from __future__ import annotations

import math

import pandas as pd
import structlog
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from cities.models import City
from errors import InvalidInput
from weather.credentials import credentials_decrypt, credentials_encrypt, credentials_rotate
from weather.models import WeatherForecastPoint, WeatherSource, WeatherVintage
from weather.providers import IssuedForecast, ProviderError, provider_fetch
from weather.providers.uploaded import uploaded_forecast_parse

log = structlog.get_logger(__name__)


def weather_vintage_store(*, city: City, forecast: IssuedForecast) -> WeatherVintage:
    """One vintage and its hourly points, in one transaction."""
    frame = forecast.frame
    if frame.empty:
        raise InvalidInput("A weather forecast needs at least one hour.", code="empty_forecast")
    values = frame.reindex(columns=list(WeatherForecastPoint.VALUE_FIELDS))
    with transaction.atomic():
        vintage = WeatherVintage.objects.create(
            city=city,
            provider=forecast.provider,
            issued_at=forecast.issued_at.to_pydatetime(),
            valid_from=frame.index[0].to_pydatetime(),
            valid_until=(frame.index[-1] + pd.Timedelta(hours=1)).to_pydatetime(),
            hours=len(frame),
            missing_hours=int(values["temperature_c"].isna().sum()),
        )
        WeatherForecastPoint.objects.bulk_create(
            [
                WeatherForecastPoint(
                    vintage=vintage,
                    valid_for=ts.to_pydatetime(),
                    **{k: (None if math.isnan(v) else float(v)) for k, v in row.items()},
                )
                for ts, row in zip(values.index, values.to_dict("records"), strict=True)
            ],
            batch_size=1000,
        )
    return vintage


def weather_source_for(city: City) -> WeatherSource | None:
    """The city's source row, created with the default provider on first use ("" in
    WEATHER_DEFAULT_PROVIDER and no row: the city's weather is not collected)."""
    source = WeatherSource.objects.filter(city=city).first()
    if source is None and settings.WEATHER_DEFAULT_PROVIDER:
        source, _ = WeatherSource.objects.get_or_create(
            city=city, defaults={"provider": settings.WEATHER_DEFAULT_PROVIDER}
        )
    return source


def weather_source_credentials_set(*, source: WeatherSource, credentials: dict) -> WeatherSource:
    source.credentials_encrypted = credentials_encrypt(credentials)
    source.save(update_fields=["credentials_encrypted"])
    return source


def weather_sources_credentials_rotate() -> int:
    """Re-encrypt every stored credential with the newest key; returns how many."""
    rotated = 0
    with transaction.atomic():
        for source in WeatherSource.objects.select_for_update().exclude(credentials_encrypted=""):
            source.credentials_encrypted = credentials_rotate(source.credentials_encrypted)
            source.save(update_fields=["credentials_encrypted"])
            rotated += 1
    return rotated


def weather_vintage_collect(*, city: City) -> WeatherVintage | None:
    """Fetch the city's current forecast from its provider and store it as a vintage.

    A provider failure (or an open breaker) is recorded on the source and returns
    None: forecasts then fall back to the no-weather model and say why.
    """
    source = weather_source_for(city)
    if source is None or not source.enabled:
        return None
    now = timezone.now()
    try:
        forecast = provider_fetch(
            source.provider,
            latitude=city.latitude,
            longitude=city.longitude,
            days=settings.WEATHER_FORECAST_DAYS,
            credentials=credentials_decrypt(source.credentials_encrypted),
        )
        vintage = weather_vintage_store(city=city, forecast=forecast)
    except ProviderError as exc:
        WeatherSource.objects.filter(pk=source.pk).update(
            last_failure_at=now, last_error=exc.message[:300]
        )
        log.warning(
            "weather_collect_failed", city=city.pk, provider=source.provider, error=exc.message
        )
        return None
    WeatherSource.objects.filter(pk=source.pk).update(last_success_at=now, last_error="")
    log.info("weather_collected", city=city.pk, provider=source.provider, vintage=vintage.pk)
    return vintage


def weather_vintages_collect() -> dict:
    """Beat: a vintage for every active city; one city's failure never stops the others."""
    collected = failed = 0
    for city in City.objects.filter(is_active=True).order_by("pk"):
        try:
            vintage = weather_vintage_collect(city=city)
        except Exception:  # e.g. unreadable credentials: the next city still gets its forecast
            log.exception("weather_collect_error", city=city.pk)
            vintage = None
        collected += vintage is not None
        failed += vintage is None
    return {"collected": collected, "failed": failed}


def weather_forecast_upload(*, city: City, data: bytes, issued_at) -> WeatherVintage:
    """An uploaded forecast file as a vintage of provider ``upload`` (400 if bad)."""
    issued = pd.Timestamp(issued_at)
    if issued.tzinfo is None:
        raise InvalidInput("issued_at needs a UTC offset.", code="invalid_issued_at")
    issued = issued.tz_convert("UTC")
    if issued > pd.Timestamp(timezone.now()) + pd.Timedelta(minutes=5):
        raise InvalidInput("issued_at is in the future.", code="invalid_issued_at")
    return weather_vintage_store(city=city, forecast=uploaded_forecast_parse(data, issued))
