"""Celery adapters (routed to the ``training`` queue in settings)."""

from celery import shared_task

from forecasts.services.jobs import job_run
from training.services import training_job_execute


@shared_task(bind=True)
def train_model(self, job_id: str) -> None:
    job_run(self, job_id, lambda job: training_job_execute(job))


@shared_task
def retrain_active_cities() -> int:
    """Beat (nightly): a training job for every active city with data."""
    from forecasts.models import City
    from training.services import training_job_start

    cities = City.objects.filter(is_active=True, observations__isnull=False).distinct()
    for city in cities:
        training_job_start(city=city, user=None)
    return len(cities)
