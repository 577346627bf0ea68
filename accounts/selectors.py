"""Who acts for which organisation: the scope every other app's reads go through."""

from __future__ import annotations

from django.core.cache import cache

from accounts.models import Membership
from errors import PermissionDenied

ORGANIZATION_CACHE_SECONDS = 60


def organization_id_for(user) -> int | None:
    """The organisation a person or an API key acts for (None: no organisation)."""
    if getattr(user, "organization_id", None):  # ApiKeyUser
        return user.organization_id
    if not getattr(user, "is_authenticated", False):
        return None
    membership = Membership.objects.filter(user_id=user.pk).only("organization_id").first()
    return membership.organization_id if membership else None


def require_organization_id(user) -> int:
    org_id = organization_id_for(user)
    if org_id is None:
        raise PermissionDenied("Your account does not belong to an organisation.")
    return org_id


def require_organization_id_cached(user) -> int:
    """require_organization_id, cached briefly so a cached read needs no query.

    A membership moved to another organisation is seen within
    ORGANIZATION_CACHE_SECONDS.
    """
    if getattr(user, "organization_id", None):
        return user.organization_id
    key = f"user-org:v1:{user.pk}"
    org_id = cache.get(key)
    if org_id is None:
        org_id = require_organization_id(user)
        cache.set(key, org_id, timeout=ORGANIZATION_CACHE_SECONDS)
    return org_id


def organization_id_for_cached(user) -> int | None:
    """organization_id_for, cached like require_organization_id_cached (None: none)."""
    if getattr(user, "organization_id", None):
        return user.organization_id
    if not getattr(user, "is_authenticated", False):
        return None
    key = f"user-org:v1:{user.pk}"
    org_id = cache.get(key)
    if org_id is None:
        org_id = organization_id_for(user)
        if org_id is not None:
            cache.set(key, org_id, timeout=ORGANIZATION_CACHE_SECONDS)
    return org_id


def user_is_org_admin(user) -> bool:
    if getattr(user, "api_key", None) is not None:
        return True  # keys are issued by organisation admins for machine clients
    return Membership.objects.filter(user_id=user.pk, role=Membership.Role.ADMIN).exists()


def require_org_admin(user, action: str) -> None:
    """A 403 naming ``action`` ("add cities") unless the caller is an organisation admin.

    Call it after the object was found in the caller's organisation, so that a
    stranger still gets the 404 that does not reveal the object exists."""
    if not user_is_org_admin(user):
        raise PermissionDenied(f"Only organisation admins can {action}.")
