from pathlib import Path

from django.apps import AppConfig
from django.conf import settings


class EnergySiteConfig(AppConfig):
    """The site's own start-up: no models, no domain."""

    name = "energy_site"
    verbose_name = "energy-forecast site"

    def ready(self):
        from energy_site import checks  # noqa: F401  (registers the deploy checks)

        # The embedded defaults keep their database, broker and static files under
        # var/; production points every one of these at its own server or volume.
        for folder in settings.EMBEDDED_DIRS:
            Path(folder).mkdir(parents=True, exist_ok=True)
