"""Request rate limits per tenant (docs/api.md, "Rate limits").

Each authenticated request counts against its own bucket (the user, or the API key)
and against its organisation's ceiling; anonymous requests count per client address
(accounts/network.py), and the token endpoints have a tighter per-address rate on top
of the login lockout (django-axes). Past a limit the answer is ``429 throttled`` with
``Retry-After``.

The counters live in the ``throttle`` cache, which, unlike the default cache, raises
when Redis is unreachable: the login throttle then fails closed (503: guessing
passwords unthrottled is worse than a short outage of logins), every other one fails
open with a warning (an outage of the limiter must not become an outage of the API).
"""

from __future__ import annotations

import structlog
from django.conf import settings
from django.core.cache import caches
from rest_framework import throttling

import errors
from accounts.network import client_ip
from accounts.selectors import organization_id_for_cached

log = structlog.get_logger(__name__)


class TenantRateThrottle(throttling.SimpleRateThrottle):
    """A SimpleRateThrottle on the ``throttle`` cache whose rate is read from
    settings.API_THROTTLE_RATES at every request (so it can be changed and tested)."""

    fail_closed = False

    def __init__(self):
        self.cache = caches["throttle"]
        super().__init__()

    def get_rate(self):
        return settings.API_THROTTLE_RATES.get(self.scope)

    def get_ident(self, request):
        return client_ip(request) or "unknown"

    def allow_request(self, request, view):
        try:
            return super().allow_request(request, view)
        except Exception as exc:  # django-redis' ConnectionInterrupted, redis errors
            if self.fail_closed:
                log.error("throttle_unavailable", scope=self.scope, error=str(exc)[:200])
                raise errors.Unavailable(
                    "Sign-in is unavailable for a moment; retry shortly.",
                    code="throttle_unavailable",
                    details={"retry_after_seconds": 5},
                ) from None
            log.warning("throttle_skipped", scope=self.scope, error=str(exc)[:200])
            return True


def _api_key(request):
    return getattr(request.user, "api_key", None)


class AnonymousRateThrottle(TenantRateThrottle):
    scope = "anonymous"

    def get_cache_key(self, request, view):
        if request.user and request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class UserRateThrottle(TenantRateThrottle):
    """A person's own bucket (JWT or session)."""

    scope = "user"

    def get_cache_key(self, request, view):
        user = request.user
        if not (user and user.is_authenticated) or _api_key(request) is not None:
            return None
        return self.cache_format % {"scope": self.scope, "ident": user.pk}


class ApiKeyRateThrottle(TenantRateThrottle):
    """Each API key's own bucket (keys have no user, so they never share one)."""

    scope = "api_key"

    def get_cache_key(self, request, view):
        key = _api_key(request)
        if key is None:
            return None
        return self.cache_format % {"scope": self.scope, "ident": key.pk}


class OrganizationRateThrottle(TenantRateThrottle):
    """The ceiling of a whole organisation, all its people and keys together."""

    scope = "organization"

    def get_cache_key(self, request, view):
        user = request.user
        if not (user and user.is_authenticated):
            return None
        org_id = organization_id_for_cached(user)
        if org_id is None:
            return None
        return self.cache_format % {"scope": self.scope, "ident": org_id}


class LoginRateThrottle(TenantRateThrottle):
    """Token requests per client address; fails closed when the cache is down."""

    scope = "login"
    fail_closed = True

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
