"""Cache entries a request read ahead of time, in the round trip that read the others.

A warm read of a job or a forecast run needs three things from Redis: the principal
behind its credential, its rate-limit counters and the cached rendering. Asked for
where each is needed (authentication, throttle, view), they were three round trips;
accounts/hot_reads.py reads them in one round trip before DRF starts and keeps what it
read here, for this request only (a context variable: a thread of gunicorn's gthread
worker serves one request at a time). The code that needs an entry asks ``cache_get``
or ``prefetched_counts`` and falls back to its own round trip for whatever was not
read ahead, so a request without a prefetch behaves exactly as before.

An entry is handed out once: a second read of the same key in the request (after the
request itself changed it, say) goes to the cache.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from django.core.cache import cache


@dataclass
class Prefetch:
    """What one round trip read: ``values`` by the key a caller passes to the default
    cache (None: a miss), ``counts`` by throttle key (the count after this request's
    INCR), and the cache key of the principal the credential names."""

    principal_key: str
    values: dict[str, object] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)


_current: ContextVar[Prefetch | None] = ContextVar("cache_prefetch", default=None)


@contextmanager
def prefetch_scope(prefetch: Prefetch | None) -> Iterator[None]:
    """Makes ``prefetch`` this request's for the duration of the block."""
    token = _current.set(prefetch)
    try:
        yield
    finally:
        _current.reset(token)


def prefetch_current() -> Prefetch | None:
    return _current.get()


def cache_get(key: str):
    """``cache.get(key)`` of the default cache, from this request's prefetch if it read
    ``key``."""
    prefetch = _current.get()
    if prefetch is not None and key in prefetch.values:
        return prefetch.values.pop(key)
    return cache.get(key)


def prefetched_counts(keys: list[str]) -> list[int] | None:
    """The counts the prefetch took for exactly these throttle keys, or None (then the
    throttle counts them itself)."""
    prefetch = _current.get()
    if prefetch is None or not keys or any(key not in prefetch.counts for key in keys):
        return None
    return [prefetch.counts.pop(key) for key in keys]
