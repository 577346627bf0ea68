"""Forecast runs and their points (the seed's ``forecasts`` table)."""

from django.db import models


class ForecastRun(models.Model):
    class Quality(models.TextChoices):
        NORMAL = "normal"
        FALLBACK = "fallback"

    class Weather(models.TextChoices):
        VINTAGE = "vintage"
        OBSERVATIONS = "observations"
        NONE = "none"

    city = models.ForeignKey("cities.City", on_delete=models.CASCADE, related_name="forecast_runs")
    model_version = models.ForeignKey(
        "training.ModelVersion",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="forecast_runs",
    )
    method = models.CharField(max_length=40, help_text="algorithm, or the fallback method")
    quality = models.CharField(max_length=10, choices=Quality.choices, default=Quality.NORMAL)
    quality_reason = models.CharField(max_length=200, blank=True)
    issued_at = models.DateTimeField(auto_now_add=True, db_index=True)
    start = models.DateTimeField()
    horizon_hours = models.PositiveSmallIntegerField()
    quantiles = models.JSONField(default=list)
    job = models.ForeignKey("jobs.Job", null=True, blank=True, on_delete=models.SET_NULL)
    # Which weather the run used: a weather forecast vintage read as-of its start
    # (weather/selectors.py), weather rows uploaded with the observations, or none (the
    # no-weather model; ``weather_note`` says why, e.g. the provider is down).
    weather = models.CharField(max_length=12, choices=Weather.choices, default=Weather.NONE)
    weather_vintage = models.ForeignKey(
        "weather.WeatherVintage",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="forecast_runs",
    )
    weather_note = models.CharField(max_length=200, blank=True)
    # The live interval shift ({lead day: {quantile: MW}}, from
    # training.ModelVersion.live_calibration) added when the run was issued: the live
    # refresh removes it to track the shift (forecasts/live_accuracy.py).
    calibration_shift = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-issued_at"]
        indexes = [models.Index(fields=["city", "start"], name="forecastrun_city_start")]

    def __str__(self) -> str:
        return f"{self.city} from {self.start:%Y-%m-%d %H:%M} +{self.horizon_hours}h"


class Forecast(models.Model):
    """One forecast point: the seed's ``forecasts`` table plus the run it belongs to."""

    run = models.ForeignKey(ForecastRun, on_delete=models.CASCADE, related_name="points")
    city = models.ForeignKey("cities.City", on_delete=models.CASCADE, related_name="forecasts")
    timestamp = models.DateTimeField()
    demand = models.FloatField(help_text="median (q50), MW")
    confidence_lower = models.FloatField(help_text="lower quantile, MW")
    confidence_upper = models.FloatField(help_text="upper quantile, MW")
    quantiles = models.JSONField(default=dict, blank=True, help_text="further quantiles")

    class Meta:
        ordering = ["timestamp"]
        indexes = [models.Index(fields=["city", "timestamp"], name="forecast_city_ts")]
        constraints = [
            models.UniqueConstraint(fields=["run", "timestamp"], name="unique_point_per_run")
        ]

    def __str__(self) -> str:
        return f"{self.timestamp:%Y-%m-%d %H:%M}Z: {self.demand:.0f} MW"
