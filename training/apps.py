from django.apps import AppConfig


class TrainingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "training"

    def ready(self):
        # The training job's runner (jobs/registry.py): apps register their own tasks.
        from jobs.models import Job
        from jobs.registry import job_kind_register
        from training.tasks import train_model

        job_kind_register(Job.Kind.TRAIN, train_model)
