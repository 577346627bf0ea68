from django.apps import AppConfig


class OptimizationConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "optimization"
