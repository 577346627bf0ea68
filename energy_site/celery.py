"""The one Celery app: three queues so a long training never delays a forecast."""

import os

from celery import Celery
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "energy_site.settings")

app = Celery("energy_site")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_queues = [Queue(name) for name in ("inference", "training", "optimization")]
app.autodiscover_tasks()
