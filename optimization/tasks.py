"""Thin Celery adapters (queue ``optimization``): the work is in services."""

from celery import shared_task

from forecasts.services.jobs import job_run
from optimization.services import dispatch_job_execute


@shared_task(bind=True)
def optimize_dispatch(self, job_id: str, dispatch_run_id: int) -> None:
    job_run(self, job_id, lambda job: dispatch_job_execute(job, dispatch_run_id))
