"""API keys live in accounts, below this app: their issue, revocation and deletion are
recorded from model signals (the admin that makes them cannot import the audit app)."""

from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver

from accounts.models import ApiKey
from audit.services import audit_record


@receiver(pre_save, sender=ApiKey)
def api_key_remember_revoked(sender, instance, **kwargs):
    stored = ApiKey.objects.filter(pk=instance.pk).values_list("revoked", flat=True).first()
    instance._audit_was_revoked = stored


@receiver(post_save, sender=ApiKey)
def api_key_saved(sender, instance, created, **kwargs):
    if created:
        action = "api_key.create"
    elif instance.revoked and not getattr(instance, "_audit_was_revoked", False):
        action = "api_key.revoke"
    else:
        action = "api_key.change"
    details = {"revoked": instance.revoked, "allowed_networks": instance.allowed_networks}
    audit_record(action, instance, details=details)


@receiver(post_delete, sender=ApiKey)
def api_key_deleted(sender, instance, **kwargs):
    audit_record("api_key.delete", instance)
