"""The one Celery app: one queue per kind of work so a long training never delays a
forecast (the queues are declared once, in settings.TASK_QUEUES)."""

import os

from celery import Celery
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

# Worker-only wiring (JSON logs, the metrics exporter): signals that fire in workers.
from energy_site import worker  # noqa: E402,F401
