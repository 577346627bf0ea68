from django.apps import AppConfig


def _observations_stored(sender, city_id: int, **kwargs) -> None:
    """New actuals of a city: refresh its model versions' live accuracy and interval
    shift (forecasts/live_accuracy.py; never raises into the upload)."""
    from forecasts.live_accuracy import city_live_refresh

    city_live_refresh(city_id=city_id)


class ForecastsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "forecasts"

    def ready(self):
        # The forecast job's runner (jobs/registry.py): apps register their own tasks.
        from django.conf import settings

        from cities.signals import observations_stored
        from forecasts.tasks import forecast_batch
        from jobs.models import Job
        from jobs.registry import job_kind_register

        job_kind_register(
            Job.Kind.FORECAST, forecast_batch, jobs_per_message=lambda: settings.FORECAST_BATCH_SIZE
        )
        observations_stored.connect(_observations_stored, dispatch_uid="forecasts-live-refresh")
