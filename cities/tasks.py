"""Thin Celery adapters of the cities app (queue: training; uploads are data work)."""

from datetime import timedelta

import structlog
from celery import shared_task

from cities.uploads import observations_ingest_job_execute, uploads_purge_orphans
from jobs.services import job_run

log = structlog.get_logger(__name__)


@shared_task(bind=True)
def ingest_observations(self, job_id: str) -> None:
    job_run(self, job_id, observations_ingest_job_execute)


@shared_task
def uploads_cleanup() -> int:
    """Beat (nightly): delete stored uploads that no queued or running job will read."""
    purged = uploads_purge_orphans(older_than=timedelta(days=1))
    log.info("uploads_cleanup", uploads=purged)
    return purged
