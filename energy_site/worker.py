"""What a Celery worker process sets up besides its tasks: logs and metrics.

- Logs: Celery hands its logging over to ``settings.LOGGING`` (structlog JSON lines,
  ``energy_site/logging.py``) instead of its own text format, so a worker's lines parse
  like the web's.
- Metrics: the batch size, queue wait, inference, job outcome, training and dispatch
  metrics are recorded in the pool processes. With ``WORKER_METRICS_PORT`` set, the
  worker's main process serves them over HTTP for Prometheus, every pool process added
  up (multiprocess mode: ``energy_site/prometheus_multiprocess.py``).

Connected by ``energy_site/celery.py``; these signals fire only in worker processes.
"""

from __future__ import annotations

import logging
import logging.config
import os

import structlog
from celery.signals import celeryd_init, setup_logging, worker_process_shutdown, worker_ready
from django.conf import settings
from prometheus_client import start_http_server

from energy_site.prometheus_multiprocess import (
    directory_reset,
    multiprocess_dir,
    process_dead,
    registry_for_scrape,
)

log = structlog.get_logger(__name__)


@setup_logging.connect
def logging_from_settings(**kwargs):
    """Celery configures no handler of its own when this signal has a receiver."""
    logging.config.dictConfig(settings.LOGGING)


@celeryd_init.connect
def metrics_directory_reset(**kwargs):
    """The worker starts: samples of an earlier run in the directory must not count."""
    directory_reset(keep_pid=os.getpid())


@worker_ready.connect
def metrics_exporter_start(sender=None, **kwargs):
    port = settings.WORKER_METRICS_PORT
    if not port:
        return
    try:
        start_http_server(
            port, addr=settings.WORKER_METRICS_ADDRESS, registry=registry_for_scrape()
        )
    except OSError as exc:
        # The worker still works; Prometheus sees the target down and alerts.
        log.error("worker_metrics_not_served", port=port, error=str(exc))
        return
    log.info(
        "worker_metrics_served",
        port=port,
        address=settings.WORKER_METRICS_ADDRESS,
        multiprocess=multiprocess_dir() is not None,
    )


@worker_process_shutdown.connect
def metrics_process_dead(pid=None, **kwargs):
    process_dead(pid or os.getpid())
