"""Drop a cached principal (accounts/principals.py) the moment what it says changes:
a password, the active flag, a membership, an API key's revocation or networks."""

from django.contrib.auth import get_user_model
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from accounts.models import ApiKey, Membership
from accounts.principals import principal_forget_api_key, principal_forget_user


def _forget_user(sender, instance, **kwargs):
    principal_forget_user(instance.pk)


def _forget_member(sender, instance, **kwargs):
    principal_forget_user(instance.user_id)


@receiver([post_save, post_delete], sender=ApiKey)
def _forget_api_key(sender, instance, **kwargs):
    principal_forget_api_key(instance.hashed_key)


def connect() -> None:
    """Called from AccountsConfig.ready (the user model is known only then)."""
    user_model = get_user_model()
    for name, signal in (("save", post_save), ("delete", post_delete)):
        signal.connect(_forget_user, sender=user_model, dispatch_uid=f"principal-{name}-user")
        signal.connect(
            _forget_member, sender=Membership, dispatch_uid=f"principal-{name}-membership"
        )
