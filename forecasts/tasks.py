"""Thin Celery adapters of the forecasts app (queue: inference)."""

from celery import shared_task

from forecasts.batch import forecast_batches_drain
from forecasts.services import forecasts_schedule_day_ahead
from jobs.services import DATABASE_DOWN


@shared_task(bind=True, max_retries=5)
def forecast_batch(self, job_id: str) -> int:
    """Answer the queued forecast requests, ``job_id``'s among them, in one batch.

    The job id only says why this task was sent: whichever worker runs first claims
    every queued request (up to the batch cap), so later tasks may find nothing left.
    While batches come back full it claims the next one; past FORECAST_DRAIN_SECONDS it
    hands the rest to a new message, so one task never holds a worker for long.
    """
    try:
        answered, more = forecast_batches_drain()
        if more:
            self.apply_async(args=[job_id])
        return answered
    except DATABASE_DOWN as exc:
        # A failover: keep retrying with backoff for as long as it lasts (the watchdog
        # re-sends the queued jobs too, so nothing waits on this message alone).
        countdown = min(2 ** min(self.request.retries, 5), 30)
        raise self.retry(exc=exc, countdown=countdown, max_retries=None) from exc
    except Exception as exc:
        raise self.retry(exc=exc, countdown=5) from exc


@shared_task
def forecasts_day_ahead() -> int:
    """Beat: a day-ahead forecast for every active city, from its next local midnight."""
    return len(forecasts_schedule_day_ahead())
