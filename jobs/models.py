"""The jobs clients poll: one row per accepted heavy request.

The table keeps the name it had when the model lived in the forecasts app
(``db_table``): moving code between apps never moves data.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q


class Job(models.Model):
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
    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="jobs"
    )
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
    # The lease (docs/reliability.md): who runs the job and until when that claim holds.
    # ``worker`` is "<host>:<pid>:<claim token>", new at every claim, so it is also the
    # fencing token a result write checks; the worker's heartbeat pushes
    # ``lease_expires_at`` forward, and once it lapses any worker may claim the job again.
    worker = models.CharField(max_length=200, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    # When a message for the job was last handed to the broker (the watchdog re-sends
    # queued jobs whose message is gone).
    sent_at = models.DateTimeField(null=True, blank=True)
    # Same organisation + same parameters (+ same model version) -> same key.
    request_key = models.CharField(max_length=64, blank=True, db_index=True)
    idempotency_key = models.CharField(max_length=200, blank=True)
    # The X-Request-ID of the request that created the job: the worker's log lines of
    # this job carry it, so one id follows a request from nginx to the worker.
    request_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "forecasts_job"
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
