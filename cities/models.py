"""Cities and their observations (demand and weather).

The tables keep the names they had when these models lived in the forecasts app
(``db_table``): moving code between apps never moves data.
"""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models


class City(models.Model):
    class Resolution(models.IntegerChoices):
        HALF_HOURLY = 30, "30 minutes"
        HOURLY = 60, "60 minutes"

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="cities"
    )
    name = models.CharField(max_length=200)
    country = models.CharField(max_length=2, help_text="ISO 3166 alpha-2, used for holidays")
    timezone = models.CharField(max_length=64, help_text="IANA time zone, e.g. Australia/Melbourne")
    latitude = models.FloatField(validators=[MinValueValidator(-90), MaxValueValidator(90)])
    longitude = models.FloatField(validators=[MinValueValidator(-180), MaxValueValidator(180)])
    resolution_minutes = models.PositiveSmallIntegerField(
        choices=Resolution.choices, default=Resolution.HALF_HOURLY
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # A summary of the city's observations, kept by observations_upsert in the same
    # transaction as the rows: counting millions of rows on every GET /cities/ took
    # seconds (docs/benchmarks.md), and training reads the data's fingerprint from here.
    observation_count = models.PositiveBigIntegerField(default=0, editable=False)
    first_observation = models.DateTimeField(null=True, blank=True, editable=False)
    last_observation = models.DateTimeField(null=True, blank=True, editable=False)
    observations_changed_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The active model's summary (id, version, algorithm, backtest MAPE) that GET
    # /cities/ shows, kept by the training app whenever a city's active model changes,
    # so that this app never reads the model registry above it.
    active_model = models.JSONField(null=True, blank=True, editable=False)

    class Meta:
        db_table = "forecasts_city"
        verbose_name_plural = "cities"
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="unique_city_per_org")
        ]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Observation(models.Model):
    """Measured demand and weather at one interval start (UTC).

    ``demand_mw`` may be empty for rows that only carry weather, such as a
    weather forecast uploaded for days that have not happened yet.
    """

    # No index of its own: the unique (city, timestamp) index serves every lookup by city.
    city = models.ForeignKey(
        City, on_delete=models.CASCADE, related_name="observations", db_index=False
    )
    timestamp = models.DateTimeField()
    demand_mw = models.FloatField(null=True, blank=True)
    temperature_c = models.FloatField(null=True, blank=True)
    humidity_pct = models.FloatField(null=True, blank=True)
    wind_speed_ms = models.FloatField(null=True, blank=True)
    irradiance_wm2 = models.FloatField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "forecasts_observation"
        constraints = [
            models.UniqueConstraint(fields=["city", "timestamp"], name="unique_observation")
        ]
        ordering = ["city", "timestamp"]

    WEATHER_FIELDS = ("temperature_c", "humidity_pct", "wind_speed_ms", "irradiance_wm2")

    def __str__(self) -> str:
        return f"{self.city_id} @ {self.timestamp:%Y-%m-%d %H:%M}Z: {self.demand_mw} MW"
