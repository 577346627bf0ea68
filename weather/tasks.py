"""Thin Celery adapters of the weather app (queue: training, settings.TASK_QUEUES)."""

from celery import shared_task

from weather.services import weather_vintages_collect


@shared_task
def weather_forecasts_collect() -> dict:
    """Beat: the current weather forecast of every active city, stored as a vintage."""
    return weather_vintages_collect()
