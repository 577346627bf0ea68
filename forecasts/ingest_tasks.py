"""Celery adapter of the ingest flow (the work is in forecasts.services.ingest)."""

from celery import shared_task

from forecasts.services.ingest import observations_ingest_job_execute
from forecasts.services.jobs import job_run


@shared_task(bind=True)
def ingest_observations(self, job_id: str) -> None:
    job_run(self, job_id, lambda job: observations_ingest_job_execute(job))
