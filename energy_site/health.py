"""Liveness and readiness: /health/live and /health/ready (docs/api.md, Outside the API)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse

from energy_site.celery import app


def live(request):
    return JsonResponse({"status": "ok"})


def _check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return "ok"


def _check_cache() -> str:
    key = f"health:{uuid.uuid4().hex}"
    cache.set(key, "1", timeout=10)
    if cache.get(key) != "1":
        raise RuntimeError("cache did not return what was written")
    cache.delete(key)
    return "ok"


def _check_broker() -> str:
    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
    return "ok"


def _check_workers() -> dict:
    """Which queues at least one live worker consumes."""
    if settings.CELERY_BROKER_URL.startswith("filesystem"):
        # The filesystem transport has no broadcast, so workers cannot be asked.
        return {"status": "unknown", "reason": "the filesystem broker cannot reach workers"}
    replies = app.control.inspect(timeout=1.0).active_queues() or {}
    consumed = {q["name"] for queues in replies.values() for q in queues}
    missing = [q for q in settings.TASK_QUEUES if q not in consumed]
    if missing:
        raise RuntimeError(f"no worker consumes: {', '.join(missing)}")
    return {"status": "ok", "workers": sorted(replies)}


def ready(request):
    """Each dependency's state; ``down`` names those that failed (503 if any did)."""
    checks, down = {}, []
    for name, check in (
        ("database", _check_database),
        ("cache", _check_cache),
        ("broker", _check_broker),
        ("workers", _check_workers),
    ):
        try:
            checks[name] = check()
        except Exception as exc:  # a readiness probe reports, it never raises
            checks[name] = {"status": "error", "error": str(exc)[:300]}
            down.append(name)
            if name == "database":
                connection.close()  # reconnect at the next probe
    return JsonResponse(
        {"status": "unavailable" if down else "ok", "down": down, "checks": checks},
        status=503 if down else 200,
    )
