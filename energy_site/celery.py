"""The one Celery app: three queues so a long training never delays a forecast."""

import os

from celery import Celery
from kombu import Exchange, Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "energy_site.settings")

app = Celery("energy_site")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Each queue gets its own exchange and routing key: queues declared by name alone all
# bind to the default exchange with the same key and every task would land in all three.
app.conf.task_queues = [
    Queue(name, Exchange(name, type="direct"), routing_key=name)
    for name in ("inference", "training", "optimization")
]
app.autodiscover_tasks()
