"""Request rate limits per tenant (docs/api.md, "Rate limits").

Each authenticated request counts against its own bucket (the user, or the API key)
and against its organisation's ceiling; anonymous requests count per client address
(accounts/network.py), and the token endpoints have a tighter per-address rate on top
of the login lockout (django-axes). Past a limit the answer is ``429 throttled`` with
``Retry-After``.

Every request passes here, so a check must cost one Redis round trip whatever the
number of buckets: each bucket is a fixed-window counter (``INCR`` and ``EXPIRE`` of a
key naming the window), and all buckets of a request go in one round trip (a Lua
script that also sets the expiry of a new window's counter). DRF's own
throttles kept a list of timestamps per bucket, read and written back whole: two round
trips per bucket and a value that grows with the rate. A fixed window admits up to
twice the rate across a window boundary, which a ceiling meant against runaway
clients tolerates; Retry-After is the time left in the window.

The counters live in the ``throttle`` cache, which, unlike the default cache, raises
when Redis is unreachable: the login throttle then fails closed (503: guessing
passwords unthrottled is worse than a short outage of logins), every other one fails
open with a warning (an outage of the limiter must not become an outage of the API).
"""

from __future__ import annotations

import math
import time

import structlog
from django.conf import settings
from django.core.cache import caches
from rest_framework import throttling

import errors
from accounts.network import client_ip
from accounts.selectors import organization_id_for_cached
from httpapi.prefetch import prefetch_current, prefetched_counts

log = structlog.get_logger(__name__)

_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def rate_parse(rate: str | None) -> tuple[int, int] | None:
    """``"6000/min"`` -> (6000, 60); None for no limit (as DRF reads rates)."""
    if not rate:
        return None
    count, period = rate.split("/")
    return int(count), _PERIODS[period[0]]


def throttle_limits(cache, buckets, now: float) -> list[tuple[str, int, int, float]]:
    """(key, period, limit, seconds left in the window) of each limited bucket."""
    limited = []
    for scope, ident in buckets:
        rate = rate_parse(settings.API_THROTTLE_RATES.get(scope))
        if rate is not None:
            limit, period = rate
            window = int(now // period)
            key = cache.make_key(f"throttle:{scope}:{ident}:{window}")
            limited.append((key, period, limit, (window + 1) * period - now))
    return limited


# The buckets each principal's last request counted against, in this process, by the
# principal's cache key: what accounts/hot_reads.py counts in its one round trip before
# authentication has said whose organisation it is. Bounded; emptied when full (the
# next request of each principal then counts through the throttle's own round trip).
_BUCKETS_SEEN: dict[str, list[tuple[str, object]]] = {}
BUCKETS_SEEN_MAX = 10_000


def throttle_buckets_seen(principal_key: str) -> list[tuple[str, object]]:
    return _BUCKETS_SEEN.get(principal_key, [])


def _buckets_remember(principal_key: str, buckets: list[tuple[str, object]]) -> None:
    if _BUCKETS_SEEN.get(principal_key) != buckets:
        if len(_BUCKETS_SEEN) >= BUCKETS_SEEN_MAX:
            _BUCKETS_SEEN.clear()
        _BUCKETS_SEEN[principal_key] = buckets


# One command for a request's counters (and the reads accounts/hot_reads.py adds): INCR
# each counter, give it its window's expiry when this INCR created it, GET each key to
# read. Against a pipeline of INCR and EXPIRE per bucket it halves the client's work
# and the server's commands on every request.
_COUNT_AND_READ_LUA = """
local reads = tonumber(ARGV[1])
local out = {}
for i = 1, reads do out[i] = redis.call('GET', KEYS[i]) end
for i = reads + 1, #KEYS do
  local count = redis.call('INCR', KEYS[i])
  if count == 1 then redis.call('EXPIRE', KEYS[i], ARGV[i - reads + 1]) end
  out[i] = count
end
return out
"""
_scripts: list = []  # the script object, made with the first client (it runs on any)


def throttle_count_and_read(
    client, keys_with_periods: list[tuple[str, int]], reads: tuple[str, ...] = ()
) -> tuple[list, list[int]]:
    """On a redis-py ``client``, in one round trip: the raw values of ``reads`` (full
    keys; None for a miss) and the count of each throttle key after its increment."""
    keys = [*reads, *(key for key, _ in keys_with_periods)]
    periods = [period + 1 for _, period in keys_with_periods]
    if not _scripts:
        _scripts.append(client.register_script(_COUNT_AND_READ_LUA))
    # EVALSHA, and EVAL once on a server that does not know the script yet.
    replies = _scripts[0](keys=keys, args=[len(reads), *periods], client=client)
    return replies[: len(reads)], replies[len(reads) :]


def _counts(cache, keys_with_periods: list[tuple[str, int]]) -> list[int]:
    """Increment each key (expiring with its window) in one round trip; the counts.

    A request prefetched by accounts/hot_reads.py has already counted these keys in
    its round trip: those counts, with no other."""
    counts = prefetched_counts([key for key, _ in keys_with_periods])
    if counts is not None:
        return counts
    client = getattr(cache, "client", None)
    if client is not None and hasattr(client, "get_client"):  # django-redis
        return throttle_count_and_read(client.get_client(write=True), keys_with_periods)[1]
    counts = []  # any other cache (the embedded defaults' local memory)
    for key, period in keys_with_periods:
        cache.add(key, 0, timeout=period + 1)
        counts.append(cache.incr(key))
    return counts


class TenantRateThrottle(throttling.BaseThrottle):
    """Fixed-window counters on the ``throttle`` cache for the buckets ``buckets``
    names; rates are read from settings.API_THROTTLE_RATES at every request (so they
    can be changed and tested)."""

    fail_closed = False
    scope = ""

    def __init__(self):
        self.cache = caches["throttle"]
        self._wait: float | None = None

    def buckets(self, request) -> list[tuple[str, object]]:
        """(scope, identity) of every bucket the request counts against."""
        raise NotImplementedError

    def get_ident(self, request):
        return client_ip(request) or "unknown"

    def allow_request(self, request, view):
        try:
            return self._allow(request)
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

    def _allow(self, request) -> bool:
        buckets = self.buckets(request)
        prefetch = prefetch_current()
        if prefetch is not None:
            _buckets_remember(prefetch.principal_key, buckets)
        limited = throttle_limits(self.cache, buckets, time.time())
        if not limited:
            return True
        counts = _counts(self.cache, [(key, period) for key, period, _, _ in limited])
        over = zip(limited, counts, strict=True)
        waits = [left for (_, _, limit, left), count in over if count > limit]
        self._wait = max(waits) if waits else None
        return not waits

    def wait(self):
        # Whole seconds, at least 1: Retry-After: 0 would invite an immediate retry.
        return None if self._wait is None else max(1, math.ceil(self._wait))


def _api_key(request):
    return getattr(request.user, "api_key", None)


def _authenticated(request) -> bool:
    user = request.user
    return bool(user and user.is_authenticated)


class ApiRateThrottle(TenantRateThrottle):
    """Every bucket of an API request in one round trip: an anonymous request's
    address; a person's own bucket or an API key's, and their organisation's ceiling."""

    scope = "api"

    def buckets(self, request):
        if not _authenticated(request):
            return [("anonymous", self.get_ident(request))]
        key = _api_key(request)
        own = ("api_key", key.pk) if key is not None else ("user", request.user.pk)
        org_id = organization_id_for_cached(request.user)
        return [own] if org_id is None else [own, ("organization", org_id)]


class AnonymousRateThrottle(TenantRateThrottle):
    scope = "anonymous"

    def buckets(self, request):
        return [] if _authenticated(request) else [(self.scope, self.get_ident(request))]


class UserRateThrottle(TenantRateThrottle):
    """A person's own bucket (JWT or session)."""

    scope = "user"

    def buckets(self, request):
        if not _authenticated(request) or _api_key(request) is not None:
            return []
        return [(self.scope, request.user.pk)]


class ApiKeyRateThrottle(TenantRateThrottle):
    """Each API key's own bucket (keys have no user, so they never share one)."""

    scope = "api_key"

    def buckets(self, request):
        key = _api_key(request)
        return [] if key is None else [(self.scope, key.pk)]


class OrganizationRateThrottle(TenantRateThrottle):
    """The ceiling of a whole organisation, all its people and keys together."""

    scope = "organization"

    def buckets(self, request):
        if not _authenticated(request):
            return []
        org_id = organization_id_for_cached(request.user)
        return [] if org_id is None else [(self.scope, org_id)]


class LoginRateThrottle(TenantRateThrottle):
    """Token requests per client address; fails closed when the cache is down."""

    scope = "login"
    fail_closed = True

    def buckets(self, request):
        return [(self.scope, self.get_ident(request))]
