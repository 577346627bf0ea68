"""Weather forecasts as data: each city's provider, and the forecasts it issued.

A vintage is one weather forecast as it was issued (``issued_at``) by a provider for
a city, with its values by the hour they are valid for. Vintages are kept apart from
observed weather (cities.Observation): a forecast made at time T reads the latest
vintage issued at or before T (weather/selectors.py), never what was observed later.
"""

from django.db import models


class WeatherSource(models.Model):
    """Which provider forecasts a city's weather, its credentials and its health.

    Cities without a row use ``settings.WEATHER_DEFAULT_PROVIDER``. Credentials (an API
    key for a commercial plan, say) are stored encrypted with Fernet
    (weather/credentials.py); the admin writes them and never shows them.
    """

    city = models.OneToOneField(
        "cities.City", on_delete=models.CASCADE, related_name="weather_source"
    )
    provider = models.CharField(max_length=40, default="open-meteo")
    enabled = models.BooleanField(default=True)
    credentials_encrypted = models.TextField(blank=True, editable=False)
    last_success_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_failure_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_error = models.CharField(max_length=300, blank=True, editable=False)

    def __str__(self) -> str:
        return f"{self.city}: {self.provider}"


class WeatherVintage(models.Model):
    city = models.ForeignKey(
        "cities.City", on_delete=models.CASCADE, related_name="weather_vintages"
    )
    provider = models.CharField(max_length=40)
    issued_at = models.DateTimeField(help_text="when the forecast was known (UTC)")
    fetched_at = models.DateTimeField(auto_now_add=True)
    valid_from = models.DateTimeField(help_text="first hour it is valid for (UTC)")
    valid_until = models.DateTimeField(help_text="end of the last hour it is valid for (UTC)")
    hours = models.PositiveIntegerField(default=0)
    missing_hours = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["city", "-issued_at"]
        indexes = [models.Index(fields=["city", "issued_at"], name="weathervintage_city_issued")]

    def __str__(self) -> str:
        return f"{self.city} {self.provider} issued {self.issued_at:%Y-%m-%d %H:%M}Z"


class WeatherForecastPoint(models.Model):
    """One hour of a vintage: the forecast values valid for ``valid_for`` (UTC)."""

    vintage = models.ForeignKey(WeatherVintage, on_delete=models.CASCADE, related_name="points")
    valid_for = models.DateTimeField()
    temperature_c = models.FloatField(null=True, blank=True)
    humidity_pct = models.FloatField(null=True, blank=True)
    wind_speed_ms = models.FloatField(null=True, blank=True)
    irradiance_wm2 = models.FloatField(null=True, blank=True)

    VALUE_FIELDS = ("temperature_c", "humidity_pct", "wind_speed_ms", "irradiance_wm2")

    class Meta:
        ordering = ["vintage", "valid_for"]
        constraints = [
            models.UniqueConstraint(fields=["vintage", "valid_for"], name="unique_vintage_hour")
        ]

    def __str__(self) -> str:
        return f"vintage {self.vintage_id} @ {self.valid_for:%Y-%m-%d %H:%M}Z"
