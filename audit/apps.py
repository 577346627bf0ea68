from django.apps import AppConfig


class AuditConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "audit"
    verbose_name = "Audit trail"

    def ready(self):
        # accounts sits below this app: its API keys are recorded through model signals.
        from audit import receivers  # noqa: F401
