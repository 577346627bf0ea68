from django.apps import AppConfig


class BackupsConfig(AppConfig):
    """`manage.py backup` and `manage.py restore`: the database and the model artifacts in
    one archive, and back (docs/operations.md, Recovery)."""

    name = "backups"
    verbose_name = "Backups"
