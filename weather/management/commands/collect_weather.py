"""Collect the current weather forecast of every active city now (what beat does hourly)."""

from django.core.management.base import BaseCommand

from weather.services import weather_vintages_collect


class Command(BaseCommand):
    help = __doc__.splitlines()[0]

    def handle(self, *args, **options):
        result = weather_vintages_collect()
        self.stdout.write(f"collected {result['collected']}, failed {result['failed']}")
