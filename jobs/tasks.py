"""Beat tasks of the job machinery (queue: inference, the default)."""

from datetime import timedelta

import structlog
from celery import shared_task
from django.conf import settings

from jobs.services import jobs_purge_finished, jobs_recover_stale

log = structlog.get_logger(__name__)


@shared_task
def jobs_recover() -> int:
    """Beat: re-send lost messages and free jobs whose worker died."""
    resent = jobs_recover_stale(
        queued_for=timedelta(minutes=10),
        running_for=timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 300),
    )
    log.info("jobs_recovered", resent=len(resent))
    return len(resent)


@shared_task
def jobs_cleanup() -> int:
    """Beat (nightly): drop finished jobs older than the retention period."""
    purged = jobs_purge_finished(older_than=timedelta(days=settings.JOB_RETENTION_DAYS))
    log.info("jobs_cleanup", jobs=purged)
    return purged
