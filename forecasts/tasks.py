"""Thin Celery adapters of the forecasts app (queue: inference)."""

from datetime import timedelta

import structlog
from celery import shared_task
from django.conf import settings

from forecasts.ingest_tasks import ingest_observations  # (registers the task)
from forecasts.models import Job
from forecasts.services.forecasting import forecast_batch_process, forecasts_schedule_day_ahead
from forecasts.services.jobs import jobs_purge_finished, jobs_recover_stale

log = structlog.get_logger(__name__)


@shared_task(bind=True, max_retries=5)
def forecast_batch(self, job_id: str) -> int:
    """Answer the queued forecast requests, ``job_id``'s among them, in one batch.

    The job id only says why this task was sent: whichever worker runs first claims
    every queued request (up to the batch cap), so later tasks may find nothing left.
    """
    try:
        return forecast_batch_process()
    except Exception as exc:
        raise self.retry(exc=exc, countdown=5) from exc


def job_resend(job: Job) -> None:
    """Send the task that runs ``job`` again (claiming makes duplicates harmless)."""
    if job.kind == Job.Kind.FORECAST:
        forecast_batch.apply_async(args=[str(job.pk)])
    elif job.kind == Job.Kind.INGEST:
        ingest_observations.apply_async(args=[str(job.pk)])
    elif job.kind == Job.Kind.TRAIN:
        from training.tasks import train_model

        train_model.apply_async(args=[str(job.pk)])
    elif job.kind == Job.Kind.OPTIMIZE:
        from optimization.models import DispatchRun
        from optimization.tasks import optimize_dispatch

        run = DispatchRun.objects.filter(job=job).first()
        if run is not None:
            optimize_dispatch.apply_async(args=[str(job.pk), run.pk])


@shared_task
def jobs_recover() -> int:
    """Beat: re-send lost messages and free jobs whose worker died."""
    found = jobs_recover_stale(
        queued_for=timedelta(minutes=10),
        running_for=timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 300),
    )
    for job in found["resend"]:
        job_resend(job)
    log.info("jobs_recovered", resent=len(found["resend"]))
    return len(found["resend"])


@shared_task
def jobs_cleanup() -> int:
    """Beat: drop finished jobs older than the retention period and orphaned uploads."""
    from forecasts.services.ingest import uploads_purge_orphans

    purged_uploads = uploads_purge_orphans(older_than=timedelta(days=1))
    purged_jobs = jobs_purge_finished(older_than=timedelta(days=settings.JOB_RETENTION_DAYS))
    log.info("jobs_cleanup", jobs=purged_jobs, uploads=purged_uploads)
    return purged_jobs


@shared_task
def forecasts_day_ahead() -> int:
    """Beat: a day-ahead forecast for every active city, from its next local midnight."""
    return len(forecasts_schedule_day_ahead())
