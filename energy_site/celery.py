"""The one Celery app: one queue per kind of work so a long training never delays a
forecast (the queues are declared once, in settings.TASK_QUEUES), and a fresh log
context for every task."""

import os

import structlog
from celery import Celery
from celery.signals import task_postrun, task_prerun
from django.conf import settings
from kombu import Exchange, Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "energy_site.settings")

app = Celery("energy_site")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Each queue gets its own exchange and routing key: queues declared by name alone all
# bind to the default exchange with the same key and every task would land in all three.
app.conf.task_queues = [
    Queue(name, Exchange(name, type="direct"), routing_key=name) for name in settings.TASK_QUEUES
]
app.autodiscover_tasks()


@task_prerun.connect
def task_log_context_bind(task_id=None, task=None, **_):
    """Start every task with a fresh structlog context: its own task id and name.

    A pool process runs task after task; context bound by one must never leak into the
    next one's log lines. The job a task works on is bound by jobs/services.py:job_run
    once it is claimed (id, kind, organisation, the request that created it); a forecast
    batch binds each of its jobs around that job's lines (forecasts/batch.py).
    """
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(task_id=task_id, task=getattr(task, "name", None))


@task_postrun.connect
def task_log_context_clear(**_):
    structlog.contextvars.clear_contextvars()


# Worker-only wiring (JSON logs, the metrics exporter): signals that fire in workers.
from energy_site import worker  # noqa: E402,F401
