"""Prometheus multiprocess mode: samples of every process of one server, added up.

gunicorn's workers and a Celery worker's pool processes are separate processes, each
with its own counters: without this mode successive scrapes of one counter read
whichever process answered (73, 48, 49, 74...). With ``PROMETHEUS_MULTIPROC_DIR`` set
in the environment *before the process starts* (prometheus_client reads it when it is
imported), every process writes its samples to files in that directory and a scrape adds
them up (``MultiProcessCollector``).

Rules kept here: the directory belongs to one process tree (one gunicorn master, one
Celery worker), it is emptied when that tree starts (files of an earlier run would be
added to this run's), and a process that exits is marked dead so that its live gauges
stop counting. ``deploy/gunicorn_metrics.py`` calls these from gunicorn's hooks,
``energy_site/worker.py`` from Celery's signals.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from prometheus_client import REGISTRY, CollectorRegistry, multiprocess

# prometheus_client names its files <type>_<pid>.db (gauges: gauge_<mode>_<pid>.db).
_FILE_PID = re.compile(r"_(\d+)\.db$")


def multiprocess_dir() -> Path | None:
    value = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    return Path(value) if value else None


def directory_reset(keep_pid: int | None = None) -> int:
    """Create the directory if needed and remove the files of earlier processes.

    ``keep_pid``'s own files stay: a process that already recorded samples (a Celery
    worker running tasks in its main process) keeps them. Returns the files removed.
    """
    path = multiprocess_dir()
    if path is None:
        return 0
    path.mkdir(parents=True, exist_ok=True)
    removed = 0
    for file in path.glob("*.db"):
        match = _FILE_PID.search(file.name)
        if keep_pid is not None and match and int(match.group(1)) == keep_pid:
            continue
        file.unlink(missing_ok=True)
        removed += 1
    return removed


def process_dead(pid: int) -> None:
    """A process of the tree exited: its live gauges no longer count."""
    if multiprocess_dir() is not None:
        multiprocess.mark_process_dead(pid)


def registry_for_scrape():
    """What a scrape reads: every process's files in multiprocess mode, else this one."""
    if multiprocess_dir() is None:
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return registry
