"""Which Celery task runs each kind of job, and how a job's message is sent.

The apps above this one register their task for each job kind in their
``AppConfig.ready()``; the jobs layer sends (and, in recovery, re-sends) every job
through here, so it never imports a higher app's task module. Every registered task
takes the job's id as its only required argument.
"""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import ImproperlyConfigured

_tasks: dict[str, object] = {}
# How many queued jobs of a kind one message answers: a forecast message runs a batch
# that claims up to FORECAST_BATCH_SIZE queued requests, so sending needs one message per
# batch. A callable is read at each use, so a setting changed at run time (tests, a
# worker started with FORECAST_BATCH_SIZE=1) is honoured.
_jobs_per_message: dict[str, int | Callable[[], int]] = {}


def job_kind_register(kind: str, task, *, jobs_per_message: int | Callable[[], int] = 1) -> None:
    """Make ``task(job_id)`` the runner of jobs of ``kind`` (once per kind)."""
    registered = _tasks.get(kind)
    if registered is not None and registered is not task:
        raise ImproperlyConfigured(f"Job kind {kind!r} already runs {registered.name}.")
    _tasks[kind] = task
    _jobs_per_message[kind] = jobs_per_message


def job_task_for(kind: str):
    try:
        return _tasks[kind]
    except KeyError:
        raise ImproperlyConfigured(
            f"No task is registered for job kind {kind!r}; is its app installed?"
        ) from None


def job_jobs_per_message(kind: str) -> int:
    per_message = _jobs_per_message.get(kind, 1)
    return max(1, int(per_message() if callable(per_message) else per_message))


def job_message_send(kind: str, job_id: str, **options):
    """Hand one message for job ``job_id`` to the broker (raises when it cannot)."""
    return job_task_for(kind).apply_async(args=[job_id], **options)


def job_queue_for(kind: str) -> str:
    """The broker queue the task of ``kind`` is routed to (settings.TASK_QUEUES)."""
    task = job_task_for(kind)
    return task.app.amqp.router.route({}, task.name)["queue"].name


def job_kinds_registered() -> dict[str, str]:
    """Job kind -> task name, for checks and docs."""
    return {kind: task.name for kind, task in _tasks.items()}
