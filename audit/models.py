"""The audit trail: one append-only row per mutation (docs/architecture.md, Security).

Rows name their organisation and user by id without a database constraint: a record
outlives what it describes (a deleted city, key or organisation). They are never
changed or deleted: the model refuses it, the admin offers neither, and on PostgreSQL
a trigger refuses UPDATE and DELETE on the table (migration 0001).
"""

from django.db import models


class AppendOnlyError(Exception):
    pass


class AuditRecordQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("Audit records are never changed.")

    def delete(self):
        raise AppendOnlyError("Audit records are never deleted.")


class AuditRecord(models.Model):
    class Via(models.TextChoices):
        API = "api"
        ADMIN = "admin"
        WORKER = "worker"

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    organization = models.ForeignKey(
        "accounts.Organization",
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    user_id = models.BigIntegerField(null=True, blank=True)
    # "user:<username>", "api-key:<prefix>" or "system".
    actor = models.CharField(max_length=200)
    action = models.CharField(max_length=64, db_index=True)  # "city.create"
    object_type = models.CharField(max_length=100)  # "cities.city"
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(max_length=200, blank=True)
    details = models.JSONField(default=dict, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    via = models.CharField(max_length=10, choices=Via.choices)

    objects = AuditRecordQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor} {self.action} {self.object_repr}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise AppendOnlyError("Audit records are never changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("Audit records are never deleted.")
