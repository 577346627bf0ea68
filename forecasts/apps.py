from django.apps import AppConfig


class ForecastsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "forecasts"

    def ready(self):
        # The forecast job's runner (jobs/registry.py): apps register their own tasks.
        from forecasts.tasks import forecast_batch
        from jobs.models import Job
        from jobs.registry import job_kind_register

        job_kind_register(Job.Kind.FORECAST, forecast_batch, jobs_per_message=32)
