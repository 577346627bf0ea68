from django.apps import AppConfig


class AccountsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "accounts"

    def ready(self):
        # Cached principals are dropped when the rows they copy change.
        from accounts import signals

        signals.connect()
