"""Each job kind has a task, each task reaches its own queue, and only that queue."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from energy_site.celery import app
from jobs.models import Job
from jobs.registry import job_kinds_registered

ROOT = Path(__file__).resolve().parent.parent
EXPECTED_QUEUE = {
    Job.Kind.FORECAST: "inference",
    # Uploads are data work: they must never delay a forecast.
    Job.Kind.INGEST: "training",
    Job.Kind.TRAIN: "training",
    Job.Kind.OPTIMIZE: "optimization",
}


def _queue_of(task_name: str) -> str:
    route = app.amqp.router.route({}, task_name)
    assert route["queue"].routing_key == route["queue"].name
    return route["queue"].name


def test_every_job_kind_has_a_registered_task():
    registered = job_kinds_registered()
    assert set(registered) == set(Job.Kind.values)
    app.loader.import_default_modules()
    assert all(name in app.tasks for name in registered.values())


@pytest.mark.parametrize("kind", Job.Kind.values)
def test_each_job_kind_reaches_its_own_queue(kind):
    assert _queue_of(job_kinds_registered()[kind]) == EXPECTED_QUEUE[kind]


def test_every_beat_task_exists_and_reaches_a_declared_queue():
    app.loader.import_default_modules()
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        assert entry["task"] in app.tasks, entry["task"]
        assert _queue_of(entry["task"]) in settings.TASK_QUEUES


def test_queues_are_bound_apart():
    # No two queues share an exchange and key (else each would get the other's tasks).
    bindings = {(q.exchange.name, q.routing_key) for q in app.amqp.queues.values()}
    assert len(bindings) == len(app.amqp.queues) == len(settings.TASK_QUEUES)


def test_reliability_settings():
    conf = app.conf
    assert conf.task_acks_late and conf.task_reject_on_worker_lost
    assert conf.task_serializer == "json" and conf.accept_content == ["json"]


def test_a_redis_broker_never_hands_a_running_task_to_a_second_worker():
    """Read the settings a production process gets (REDIS_URL set), whatever this
    test run uses: the visibility timeout must outlast the longest task."""
    code = (
        "import json, django; django.setup(); from django.conf import settings as s; "
        "print(json.dumps([s.CELERY_BROKER_URL, "
        "s.CELERY_BROKER_TRANSPORT_OPTIONS.get('visibility_timeout'), "
        "s.CELERY_TASK_TIME_LIMIT]))"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "energy_site.settings",
        "DATABASE_URL": "postgres://nobody@127.0.0.1:1/none",  # never connected to
        "REDIS_URL": "redis://127.0.0.1:1/0",
    }
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    broker, visibility, time_limit = json.loads(out.stdout.strip().splitlines()[-1])
    assert broker.startswith("redis://")
    assert visibility is not None and visibility > time_limit
