"""Which Celery task runs each kind of job.

The apps above this one register their task for each job kind in their
``AppConfig.ready()``; the jobs layer sends (and, in recovery, re-sends) every job
through here, so it never imports a higher app's task module. Every registered task
takes the job's id as its only required argument.
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

_tasks: dict[str, object] = {}


def job_kind_register(kind: str, task) -> None:
    """Make ``task(job_id)`` the runner of jobs of ``kind`` (once per kind)."""
    registered = _tasks.get(kind)
    if registered is not None and registered is not task:
        raise ImproperlyConfigured(f"Job kind {kind!r} already runs {registered.name}.")
    _tasks[kind] = task


def job_task_for(kind: str):
    try:
        return _tasks[kind]
    except KeyError:
        raise ImproperlyConfigured(
            f"No task is registered for job kind {kind!r}; is its app installed?"
        ) from None


def job_kinds_registered() -> dict[str, str]:
    """Job kind -> task name, for checks and docs."""
    return {kind: task.name for kind, task in _tasks.items()}
