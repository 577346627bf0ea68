"""Tenants, cities, observations, forecasts and the jobs clients poll."""

import hashlib
import secrets
import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q


class Organization(models.Model):
    name = models.CharField(max_length=200, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    class Role(models.TextChoices):
        ADMIN = "admin", "Organisation admin"
        MEMBER = "member", "Member"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="membership"
    )
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)

    def __str__(self) -> str:
        return f"{self.user} @ {self.organization} ({self.role})"


class ApiKey(models.Model):
    """An organisation-scoped key for machine clients; only its SHA-256 is stored."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="api_keys"
    )
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12, unique=True)
    hashed_key = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def hash(raw_key: str) -> str:
        return hashlib.sha256(raw_key.encode()).hexdigest()

    @classmethod
    def generate(cls) -> tuple[str, str]:
        prefix = secrets.token_hex(4)
        return prefix, f"{prefix}.{secrets.token_urlsafe(32)}"


class City(models.Model):
    class Resolution(models.IntegerChoices):
        HALF_HOURLY = 30, "30 minutes"
        HOURLY = 60, "60 minutes"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="cities")
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

    class Meta:
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
        constraints = [
            models.UniqueConstraint(fields=["city", "timestamp"], name="unique_observation")
        ]
        ordering = ["city", "timestamp"]

    WEATHER_FIELDS = ("temperature_c", "humidity_pct", "wind_speed_ms", "irradiance_wm2")

    def __str__(self) -> str:
        return f"{self.city_id} @ {self.timestamp:%Y-%m-%d %H:%M}Z: {self.demand_mw} MW"


class Job(models.Model):
    """What API clients poll: one row per accepted heavy request."""

    class Kind(models.TextChoices):
        INGEST = "ingest"
        TRAIN = "train"
        FORECAST = "forecast"
        OPTIMIZE = "optimize"

    class State(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        CANCELLED = "cancelled"

    FINISHED_STATES = (State.SUCCEEDED, State.FAILED, State.CANCELLED)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="jobs")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    params = models.JSONField(default=dict, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)
    result = models.JSONField(null=True, blank=True)
    error = models.JSONField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    celery_task_id = models.CharField(max_length=64, blank=True)
    # Same organisation + same parameters (+ same model version) -> same key.
    request_key = models.CharField(max_length=64, blank=True, db_index=True)
    idempotency_key = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["kind", "state", "created_at"], name="job_claim")]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="unique_idempotency_key_per_org",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.id} ({self.state})"

    @property
    def is_finished(self) -> bool:
        return self.state in self.FINISHED_STATES


class ForecastRun(models.Model):
    class Quality(models.TextChoices):
        NORMAL = "normal"
        FALLBACK = "fallback"

    city = models.ForeignKey(City, on_delete=models.CASCADE, related_name="forecast_runs")
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
    job = models.ForeignKey(Job, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        ordering = ["-issued_at"]
        indexes = [models.Index(fields=["city", "start"], name="forecastrun_city_start")]

    def __str__(self) -> str:
        return f"{self.city} from {self.start:%Y-%m-%d %H:%M} +{self.horizon_hours}h"


class Forecast(models.Model):
    """One forecast point: the seed's ``forecasts`` table plus the run it belongs to."""

    run = models.ForeignKey(ForecastRun, on_delete=models.CASCADE, related_name="points")
    city = models.ForeignKey(City, on_delete=models.CASCADE, related_name="forecasts")
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
