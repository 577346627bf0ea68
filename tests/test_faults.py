"""Faults against real processes, one each, bounded (issue 10; the full set with numbers
is bench/chaos.py, docs/reliability.md)."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from celery import Celery
from django.db import connection

from jobs.broker import broker_lost_messages
from jobs.models import Job
from tests.training.conftest import FAST_FAMILIES
from training.models import ModelVersion

ROOT = Path(__file__).resolve().parent.parent
pytestmark = [pytest.mark.needs_server, pytest.mark.django_db(transaction=True)]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def test_a_pool_child_killed_mid_training_is_replaced_at_once_and_writes_one_version(
    owner_client, city_with_history, tmp_path, settings
):
    """The OOM killer's fault: before leases the job stayed `running` for an hour."""
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "MEDIA_ROOT": str(tmp_path / "media"),
        "TRAINING_ITERATIONS": "150",
        "TRAINING_BACKTEST_DAYS": "7",
        "TRAINING_CALIBRATION_DAYS": "7",
        "TRAINING_REFIT_DAYS": "7",
        "TRAINING_FAMILIES": ",".join(FAST_FAMILIES),
        "LOG_LEVEL": "WARNING",
    }
    settings.MEDIA_ROOT = tmp_path / "media"
    worker = subprocess.Popen(
        [str(Path(sys.executable).parent / "celery"), "-A", "energy_site", "worker",
         "-Q", "training", "-c", "1", "-n", f"faults{os.getpid()}@%h", "--loglevel", "WARNING"],
        cwd=ROOT, env=env, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        response = owner_client.post(f"/api/v1/cities/{city_with_history.pk}/train/")
        assert response.status_code == 202
        job_id = response.json()["job"]["id"]
        running = wait_for(
            lambda: Job.objects.filter(pk=job_id, state="running", progress__gte=5).first(),
            120,
            "the training to run",
        )
        child = int(running.worker.split(":")[1])
        assert child != worker.pid  # a pool child, not the worker itself
        os.kill(child, signal.SIGKILL)
        killed_at = time.monotonic()
        again = wait_for(
            lambda: Job.objects.filter(pk=job_id, attempts=2).exclude(worker=running.worker)
            .first(),
            20,
            "the redelivered message to claim the job",
        )  # fmt: skip
        assert time.monotonic() - killed_at < 15  # not the lease (30 s), not an hour
        done = wait_for(
            lambda: Job.objects.filter(pk=job_id, state__in=Job.FINISHED_STATES).first(),
            150,
            "the training to finish",
        )
        assert done.state == Job.State.SUCCEEDED, done.error
        assert again.attempts == 2
        assert ModelVersion.objects.filter(job_id=job_id).count() == 1
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(timeout=10)


def test_a_broker_restarted_empty_is_noticed(tmp_path):
    """Redis restarted without persistence: every queued job's message is gone."""
    redis_server = shutil.which("redis-server")
    if redis_server is None:
        pytest.skip("redis-server is not installed")
    port = free_port()

    def start():
        process = subprocess.Popen(
            [redis_server, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(tmp_path)],
            stdout=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        wait_for(lambda: _answers(port), 10, "redis-server")
        return process

    app = Celery("faults", broker=f"redis://127.0.0.1:{port}/0")
    server = start()
    try:
        assert broker_lost_messages(app) is True  # a fresh broker: nothing to trust yet
        assert broker_lost_messages(app) is False
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=10)
        server = start()
        app.pool.force_close_all()
        assert broker_lost_messages(app) is True
        assert broker_lost_messages(app) is False
    finally:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=10)


def _answers(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False
