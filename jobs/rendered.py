"""What a job's poll is answered from: its JSON rendered once and kept in the cache,
replaced by the job services at every state change, and the wait of
``GET /jobs/{id}/?wait=N`` (docs/api.md, "Waiting for a job").

- A read renders the job only when the cache has no entry, and stores it with ``add``
  (only if absent): the services ``set`` an entry when a job finishes, so a read that
  raced the finish can never put the older state back over it.
- Every state change deletes the entry at once and again once its transaction commits;
  a finish then stores the finished rendering and publishes on the job's channel
  (Redis pub/sub), which is what a waiting request listens to: no query per tick.
- An unfinished job's entry lives JOB_CACHE_UNFINISHED_SECONDS (10 s): the longest a
  read racing a claim or a progress update can show the state before it. A finished
  job's lives JOB_CACHE_SECONDS; its organisation is stored with it and compared first,
  so a stranger gets the same 404 from a warm cache as from the database.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

import structlog
from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from accounts.selectors import require_organization_id_cached
from errors import NotFound
from httpapi.rendered import Rendered, rendered_cached_for, rendered_json
from jobs.models import Job
from jobs.selectors import job_get_for_user
from jobs.serializers import job_data

log = structlog.get_logger(__name__)

# Without Redis (the embedded defaults) a waiting request re-reads the job this often.
POLL_SECONDS_WITHOUT_PUBSUB = 0.5


def job_cache_key(job_id) -> str:
    return f"job:v1:{job_id}"


def _channel(job_id) -> str:
    # Pub/sub channels are shared by every database of a Redis server: the cache's
    # prefix keeps deployments (and test runs) that share one apart.
    return cache.make_key(f"job-events:v1:{job_id}")


def job_rendering(job: Job) -> Rendered:
    return rendered_json(job.organization_id, job_data(job), final=job.is_finished)


def _timeout(rendered: Rendered) -> int:
    return settings.JOB_CACHE_SECONDS if rendered.final else settings.JOB_CACHE_UNFINISHED_SECONDS


def job_rendered_for_user(user, job_id) -> Rendered:
    """The job's rendering if it belongs to the user's organisation; 404 otherwise.

    A warm cache costs one cache read and no query."""
    cached = rendered_cached_for(
        job_cache_key(job_id), require_organization_id_cached(user), "No such job."
    )
    if cached is not None:
        return cached
    rendered = job_rendering(job_get_for_user(user, job_id))
    cache.add(job_cache_key(job_id), rendered, timeout=_timeout(rendered))
    return rendered


def _redis():
    """The default cache's Redis client, or None when the cache is not Redis."""
    try:
        from django_redis import get_redis_connection

        return get_redis_connection("default")
    except (ImportError, NotImplementedError):
        return None


# After a failed cache write the job services skip the cache this long: a worker must
# not wait out a connect timeout (2 s) at every state change while the cache is away.
# What it skips is bounded anyway: unfinished entries live 10 s, finished ones are final.
CACHE_DOWN_SKIP_SECONDS = 5.0
_cache_down_until = 0.0


def _cache_write(what: str, action) -> None:
    """Run ``action(client)`` on the cache, raising errors (django-redis' client) or
    not (other caches); on an error, log it and skip cache writes for a while."""
    global _cache_down_until
    if time.monotonic() < _cache_down_until:
        return
    try:
        action(getattr(cache, "client", cache))
    except Exception as exc:  # ConnectionInterrupted, redis errors
        _cache_down_until = time.monotonic() + CACHE_DOWN_SKIP_SECONDS
        log.warning("job_cache_write_failed", what=what, error=str(exc)[:200])


def _delete(ids: list[str]) -> None:
    _cache_write(
        "delete", lambda client: client.delete_many([job_cache_key(job_id) for job_id in ids])
    )


def jobs_changed(job_ids: Iterable, *, finished: bool) -> None:
    """Called by jobs/services.py after every state change of ``job_ids``.

    Inside a transaction the entries go at once (a read in the same transaction sees
    the new row) and again after commit; a finish then stores the finished rendering
    and wakes the requests waiting for it. A service that changes many jobs with one
    UPDATE (a batch finishing, a broker refusing a batch) passes all their ids in one
    call: the finished renderings are then read in one query and stored in one
    pipeline."""
    ids = [str(job_id) for job_id in job_ids]
    if not ids:
        return
    if transaction.get_connection().in_atomic_block:
        _delete(ids)
    if finished:
        transaction.on_commit(lambda: _store_and_publish(ids), robust=True)
    else:
        transaction.on_commit(lambda: _delete(ids), robust=True)


def _store_and_publish(ids: list[str]) -> None:
    rendered = {job_cache_key(job.pk): job_rendering(job) for job in Job.objects.filter(pk__in=ids)}
    _cache_write(
        "store", lambda client: client.set_many(rendered, timeout=settings.JOB_CACHE_SECONDS)
    )
    redis = _redis()
    if redis is None or time.monotonic() < _cache_down_until:
        return
    try:
        with redis.pipeline(transaction=False) as pipe:
            for job_id in ids:
                pipe.publish(_channel(job_id), b"finished")
            pipe.execute()
    except Exception as exc:  # redis errors: the waiters time out instead
        log.warning("job_publish_failed", jobs=len(ids), error=str(exc)[:200])


def jobs_forget(job_ids: Iterable) -> None:
    """Drop the entries of deleted jobs."""
    _delete([str(job_id) for job_id in job_ids])


def job_rendered_wait(user, job_id, seconds: float) -> Rendered:
    """The job's rendering once it finished, or after ``seconds`` if it did not.

    Listens on the job's channel; the cache is read after subscribing (a finish just
    before it was not heard) and at each message, never the database on a warm cache.
    If Redis fails the request answers at once with what it has.
    """
    deadline = time.monotonic() + seconds
    redis = _redis()
    if redis is None:
        return _poll(user, job_id, deadline)
    pubsub = redis.pubsub(ignore_subscribe_messages=True)
    try:
        pubsub.subscribe(_channel(job_id))
        latest = job_rendered_for_user(user, job_id)
        while not latest.final:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            if pubsub.get_message(timeout=remaining) is not None:
                latest = job_rendered_for_user(user, job_id)
        return latest
    except NotFound:
        raise
    except Exception as exc:  # redis errors: answer now rather than fail the poll
        log.warning("job_wait_failed", job_id=str(job_id), error=str(exc)[:200])
        return job_rendered_for_user(user, job_id)
    finally:
        pubsub.close()


def _poll(user, job_id, deadline: float) -> Rendered:
    latest = job_rendered_for_user(user, job_id)
    while not latest.final and time.monotonic() < deadline:
        time.sleep(min(POLL_SECONDS_WITHOUT_PUBSUB, max(0.0, deadline - time.monotonic())))
        cache.delete(job_cache_key(job_id))  # the local cache is not shared with the workers
        latest = job_rendered_for_user(user, job_id)
    return latest
