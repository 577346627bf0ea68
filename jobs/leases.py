"""Leases: a running job belongs to one worker only while that worker keeps renewing it.

A claim stamps the job with a new worker token (``<host>:<pid>:<random>``) and a lease
expiry; :class:`JobLease` is a heartbeat thread that pushes the expiry forward every
``JOB_HEARTBEAT_SECONDS`` for as long as the job's code runs. A thread, not progress
reports, because training spends minutes inside single CatBoost and statsforecast calls
that report nothing (docs/reliability.md, "Leases"). A worker killed by SIGKILL or the
OOM killer stops renewing, the lease lapses, and the watchdog (jobs/services.py,
``jobs_watchdog_run``) or a redelivered message claims the job again.

The token is also the fencing token: a result is written only while the job row still
carries the writer's token (``jobs.services.job_result_write``), so a worker that lost
its lease (paused, cut off from the database) can never add a second result.
"""

from __future__ import annotations

import os
import secrets
import socket
import threading
from collections.abc import Iterable
from datetime import timedelta

import structlog
from django.conf import settings
from django.db import DatabaseError, connection
from django.utils import timezone

log = structlog.get_logger(__name__)


def worker_token() -> str:
    """A fresh claim token naming this process: ``<host>:<pid>:<random>``."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


def lease_holder_is_dead(token: str) -> bool:
    """True if ``token`` names a process of this host that no longer exists.

    What the OOM killer leaves behind: the pool child is gone but its lease has not
    lapsed yet. The redelivered message lands on the same host (usually the same
    worker), which can see that the holder is dead and take the job at once instead of
    waiting for the lease. A token of another host is never judged dead here.
    """
    host, _, rest = token.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # alive, owned by someone else
    return False


def lease_expiry():
    return timezone.now() + timedelta(seconds=settings.JOB_LEASE_SECONDS)


class JobLease:
    """Renew the lease of ``jobs`` from a daemon thread while the block runs.

    ``lost`` holds the ids whose renewal found the job no longer ours (cancelled,
    reclaimed after a lapse): their work is abandoned at the next progress report.
    """

    def __init__(self, jobs: Iterable):
        self.tokens = {job.pk: job.worker for job in jobs}
        self.lost: set = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="job-lease", daemon=True)

    def __enter__(self) -> JobLease:
        if self.tokens:
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def renew(self) -> None:
        from jobs.models import Job

        expiry = lease_expiry()
        for pk, token in self.tokens.items():
            if pk in self.lost:
                continue
            renewed = Job.objects.filter(pk=pk, state=Job.State.RUNNING, worker=token).update(
                lease_expires_at=expiry
            )
            if not renewed:
                self.lost.add(pk)

    def _beat(self) -> None:
        interval = settings.JOB_HEARTBEAT_SECONDS
        try:
            while not self._stop.wait(interval):
                try:
                    self.renew()
                except DatabaseError as exc:
                    # The database is away: keep working and keep trying. If it stays
                    # away past the lease, the job is claimed again and this worker's
                    # result is refused by the fence; nothing is written twice.
                    log.warning("job_lease_renew_failed", error=str(exc)[:200])
                    connection.close()
        finally:
            connection.close()  # this thread's own connection
