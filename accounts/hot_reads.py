"""One Redis round trip for a warm read of a job or a forecast run.

These are the reads clients repeat (every poll of a job, every read of a finished
forecast), and a warm one needs three things from Redis: the principal its credential
names (accounts/principals.py), its rate-limit counters (accounts/throttles.py) and
the cached rendering (httpapi/rendered.py). Asked for where DRF needs each, they were
three round trips, which with the JWT's signature check were most of what such a read
cost over the floor (docs/benchmarks.md, "Serving at load").

``CachedReadMixin`` reads all three in one round trip before DRF starts, from what the
request itself says: the principal's key from the credential (a JWT that validates,
or an API key's hash), the rendering's key from the URL, and the counters of the
buckets this principal's last request counted against in this process. Nothing is
decided here: authentication still checks the principal (active, password stamp,
revoked key, networks), the throttle the counts, and the view the rendering's
organisation, each taking what the round trip read (httpapi/prefetch.py) instead of
asking again. What the prefetch cannot know, its consumer reads as before:

- a principal's first request in a process, or one whose buckets changed (a
  membership moved), is counted by the throttle's own round trip; a moved membership may
  have one request counted against its old organisation's bucket;
- a credential that does not validate prefetches nothing;
- if Redis fails, nothing is prefetched for PREFETCH_SKIP_SECONDS, and each consumer
  meets the outage as before (the throttle fails open, the cache misses).
"""

from __future__ import annotations

import functools
import time

import structlog
from django.conf import settings
from django.core.cache import caches
from rest_framework_simplejwt.settings import api_settings as jwt_settings

from accounts.auth import jwt_validated
from accounts.models import ApiKey
from accounts.principals import principal_key_for_api_key, principal_key_for_user
from accounts.throttles import throttle_buckets_seen, throttle_count_and_read, throttle_limits
from httpapi.prefetch import Prefetch, prefetch_scope

log = structlog.get_logger(__name__)

PREFETCH_SKIP_SECONDS = 5.0
_skip_until = 0.0


def _principal_key(request) -> str | None:
    """The principal cache key the request's credential names, or None."""
    kind, _, raw = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    raw = raw.strip()
    if not raw or " " in raw:
        return None
    if kind in jwt_settings.AUTH_HEADER_TYPES:
        try:
            user_id = jwt_validated(raw.encode()).get(jwt_settings.USER_ID_CLAIM)
        except Exception:  # any invalid token: authentication will say why
            return None
        return None if user_id is None else principal_key_for_user(user_id)
    if kind == "Api-Key":
        return principal_key_for_api_key(ApiKey.hash(raw))
    return None


def _redis_pair():
    """The default and throttle caches if both are django-redis on one server."""
    default, throttle = caches["default"], caches["throttle"]
    if not hasattr(getattr(default, "client", None), "decode"):
        return None  # the embedded defaults' local memory
    if settings.CACHES["default"]["LOCATION"] != settings.CACHES["throttle"]["LOCATION"]:
        return None
    return default, throttle


@functools.lru_cache(maxsize=256)
def _decoded(raw: bytes):
    """The default cache's decoding of ``raw`` (unzip, unpickle), kept for the same
    bytes: the entries these reads meet (a principal, a finished rendering) stay the same
    bytes for their whole life, and a run's rendering is tens of kB to unzip at every
    read. Equal bytes decode to equal values whichever thread's client decodes them, and
    the values are only read (frozen dataclasses; an API key's fields are copied into a
    new ApiKey), so sharing them is safe."""
    return caches["default"].client.decode(raw)


def read_prefetch(request, rendering_key: str) -> Prefetch | None:
    """The principal, the rendering under ``rendering_key`` and the counters, read in one
    round trip; None when there is nothing to read ahead or Redis failed."""
    global _skip_until
    if time.monotonic() < _skip_until:
        return None
    principal_key = _principal_key(request)
    pair = _redis_pair()
    if principal_key is None or pair is None:
        return None
    default, throttle = pair
    limited = throttle_limits(throttle, throttle_buckets_seen(principal_key), time.time())
    keys = [principal_key, rendering_key]
    try:
        raw, counted = throttle_count_and_read(
            throttle.client.get_client(write=True),
            [(key, period) for key, period, _, _ in limited],
            reads=tuple(default.make_key(key) for key in keys),
        )
        values = {key: None if value is None else _decoded(value)
                  for key, value in zip(keys, raw, strict=True)}  # fmt: skip
    except Exception as exc:  # redis errors, an entry that does not unpickle
        _skip_until = time.monotonic() + PREFETCH_SKIP_SECONDS
        log.warning("read_prefetch_failed", error=str(exc)[:200])
        return None
    counts = {key: count for (key, *_), count in zip(limited, counted, strict=True)}
    return Prefetch(principal_key=principal_key, values=values, counts=counts)


class CachedReadMixin:
    """For an APIView whose GET answers from a cached rendering: that rendering, the
    principal and the counters in one round trip (see the module's docstring).

    ``cached_rendering_key(**kwargs)`` names the rendering from the URL's arguments."""

    def cached_rendering_key(self, **kwargs) -> str:
        raise NotImplementedError

    def dispatch(self, request, *args, **kwargs):
        if request.method != "GET":
            return super().dispatch(request, *args, **kwargs)
        with prefetch_scope(read_prefetch(request, self.cached_rendering_key(**kwargs))):
            return super().dispatch(request, *args, **kwargs)
