"""Who a token or an API key stands for, cached briefly so a request needs no query.

Authentication used to cost a query per request (the user, or the key) and the
organisation another; the reads clients repeat most (a job, a forecast run) are
otherwise served from the cache, so these queries were most of their cost. A person's
principal (user id, organisation, active flag, password stamp) and an API key's
stored fields are kept for PRINCIPAL_CACHE_SECONDS (30 s by default).

Revocation still holds: saving or deleting a user, a membership or an API key drops
the entry at once (accounts/signals.py), so a changed password, a deactivated user, a
revoked key or a moved membership takes effect on the next request. Only a write that
skips model signals (``QuerySet.update()``, raw SQL) waits for the TTL, which is why
it is short. Revoked keys are never cached.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache

from accounts.models import ApiKey, Membership
from accounts.password_stamps import password_stamp
from httpapi.prefetch import cache_get


@dataclass(frozen=True)
class Principal:
    """What authenticating a person needs, and the organisation they act for."""

    user_id: int
    organization_id: int | None
    is_active: bool
    password_stamp: str


def principal_key_for_user(user_id) -> str:
    return f"principal:v1:user:{user_id}"


def principal_key_for_api_key(hashed_key: str) -> str:
    return f"principal:v1:api-key:{hashed_key}"


def _timeout() -> int:
    return settings.PRINCIPAL_CACHE_SECONDS


def principal_for_user_id(user_id) -> Principal | None:
    """The person with ``user_id`` (None: no such user), from the cache when fresh."""
    key = principal_key_for_user(user_id)
    cached = cache_get(key)
    if isinstance(cached, Principal):
        return cached
    user = get_user_model().objects.filter(pk=user_id).first()
    if user is None:
        return None
    organization_id = (
        Membership.objects.filter(user_id=user.pk).values_list("organization_id", flat=True).first()
    )
    principal = Principal(
        user_id=user.pk,
        organization_id=organization_id,
        is_active=user.is_active,
        password_stamp=password_stamp(user),
    )
    cache.set(key, principal, timeout=_timeout())
    return principal


def api_key_for_hash(hashed_key: str) -> ApiKey | None:
    """The unrevoked key whose SHA-256 is ``hashed_key`` (None: unknown or revoked).

    The cached form is the row's own field values, so the key is a whole ApiKey as if
    read from the database (without its organisation loaded)."""
    key = principal_key_for_api_key(hashed_key)
    cached = cache_get(key)
    if isinstance(cached, dict):
        # A copy: the cached fields may be shared with other requests (accounts/hot_reads.py).
        return ApiKey.from_db("default", list(cached), copy.deepcopy(list(cached.values())))
    found = ApiKey.objects.filter(hashed_key=hashed_key, revoked=False).first()
    if found is None:
        return None
    fields = {f.attname: getattr(found, f.attname) for f in ApiKey._meta.concrete_fields}
    cache.set(key, fields, timeout=_timeout())
    return found


def principal_forget_user(user_id) -> None:
    """Drop what is cached about the person (their principal and organisation)."""
    cache.delete_many([principal_key_for_user(user_id), f"user-org:v1:{user_id}"])


def principal_forget_api_key(hashed_key: str) -> None:
    cache.delete(principal_key_for_api_key(hashed_key))
