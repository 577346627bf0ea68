from django.apps import AppConfig


class CitiesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "cities"

    def ready(self):
        # The ingest job's runner (jobs/registry.py): apps register their own tasks.
        from cities.tasks import ingest_observations
        from jobs.models import Job
        from jobs.registry import job_kind_register

        job_kind_register(Job.Kind.INGEST, ingest_observations)
