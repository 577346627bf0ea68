"""The model registry: one row per trained model version of a city."""

from django.db import models
from django.db.models import Q


class ModelVersion(models.Model):
    class Status(models.TextChoices):
        CANDIDATE = "candidate"
        ACTIVE = "active"
        RETIRED = "retired"

    city = models.ForeignKey("cities.City", on_delete=models.CASCADE, related_name="model_versions")
    algorithm = models.CharField(max_length=40, default="catboost-multiquantile")
    version = models.PositiveIntegerField()
    features = models.JSONField(default=list)
    quantiles = models.JSONField(default=list)
    params = models.JSONField(default=dict, blank=True)
    train_start = models.DateTimeField(null=True, blank=True)
    train_end = models.DateTimeField(null=True, blank=True)
    backtest_start = models.DateTimeField(null=True, blank=True)
    backtest_end = models.DateTimeField(null=True, blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    feature_importance = models.JSONField(default=dict, blank=True)
    artifact = models.FileField(upload_to="models/%Y/%m/", blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.CANDIDATE)
    promotion_note = models.CharField(max_length=300, blank=True)
    job = models.ForeignKey("jobs.Job", null=True, blank=True, on_delete=models.SET_NULL)
    # Between retrains (forecasts/live_accuracy.py, after each upload of actuals): the
    # version's issued day-ahead forecasts scored against the actuals that arrived
    # ({"mape", "coverage_90", "pinball", "points", "days", "first", "last",
    # "updated_at"}), and the interval shift tracked from the city's issued forecasts
    # (adaptive, no refit)
    # that inference adds to each lead day ({"shift_mw_by_lead": {lead: {quantile: MW}}}).
    live_metrics = models.JSONField(default=dict, blank=True)
    live_calibration = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    promoted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["city", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["city", "version"], name="unique_model_version"),
            models.UniqueConstraint(
                fields=["city"], condition=Q(status="active"), name="one_active_model_per_city"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.city} v{self.version} ({self.status})"
