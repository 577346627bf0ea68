"""Thin Celery adapters of the training app (queue: training)."""

from celery import shared_task

from jobs.services import job_run
from training.services import training_job_execute, training_jobs_start_nightly


@shared_task(bind=True)
def train_model(self, job_id: str) -> None:
    job_run(self, job_id, training_job_execute)


@shared_task
def retrain_active_cities() -> int:
    """Beat (nightly): a training job for every active city with data."""
    return len(training_jobs_start_nightly())
