"""Beat tasks of the job machinery (queue: inference, the default)."""

from datetime import timedelta

import structlog
from celery import shared_task
from django.conf import settings

from jobs.services import jobs_purge_finished, jobs_watchdog_run

log = structlog.get_logger(__name__)


@shared_task(ignore_result=True, expires=60)
def jobs_recover() -> dict:
    """Beat (every JOB_WATCHDOG_SECONDS): the watchdog of jobs/services.py requeues jobs
    whose lease lapsed and re-sends queued jobs whose message is gone."""
    counts = jobs_watchdog_run()
    if counts["lease_lapsed"] or counts["resent"] or counts["worker_lost"]:
        log.info("jobs_recovered", **counts)
    return counts


@shared_task
def jobs_cleanup() -> int:
    """Beat (nightly): drop finished jobs older than the retention period."""
    purged = jobs_purge_finished(older_than=timedelta(days=settings.JOB_RETENTION_DAYS))
    log.info("jobs_cleanup", jobs=purged)
    return purged
