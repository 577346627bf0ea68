"""Re-encrypt every stored weather provider credential with the newest Fernet key.

Rotation: prepend the new key to WEATHER_CREDENTIALS_KEYS (keep the old one after
it), deploy, run this command, then remove the old key.
"""

from django.core.management.base import BaseCommand

from weather.services import weather_sources_credentials_rotate


class Command(BaseCommand):
    help = __doc__.splitlines()[0]

    def handle(self, *args, **options):
        count = weather_sources_credentials_rotate()
        self.stdout.write(f"re-encrypted the credentials of {count} weather source(s)")
