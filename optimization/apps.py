from django.apps import AppConfig


class OptimizationConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "optimization"

    def ready(self):
        # The dispatch job's runner (jobs/registry.py): apps register their own tasks.
        from jobs.models import Job
        from jobs.registry import job_kind_register
        from optimization.tasks import optimize_dispatch

        job_kind_register(Job.Kind.OPTIMIZE, optimize_dispatch)
