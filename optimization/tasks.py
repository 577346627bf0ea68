"""Thin Celery adapters (queue ``optimization``): the work is in services."""

from celery import shared_task

from jobs.services import job_run
from optimization.services import dispatch_job_execute


@shared_task(bind=True)
def optimize_dispatch(self, job_id: str, dispatch_run_id: int | None = None) -> None:
    # ``dispatch_run_id`` is ignored: the run is found by its job. Messages sent before
    # the job registry still carry it and must keep running after an upgrade.
    job_run(self, job_id, dispatch_job_execute)
