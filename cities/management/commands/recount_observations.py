"""Recount cities' observation summaries after rows were written around the service."""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.db import transaction
from tqdm import tqdm

from cities.management.commands.import_observations import city_find
from cities.models import City
from cities.services import city_observation_summary_refresh


class Command(BaseCommand):
    help = (
        "Recount the observation summary (count, first, last) that GET /cities/ shows, "
        "for one city or all: needed only after rows were written by SQL or a shell."
    )

    def add_arguments(self, parser):
        parser.add_argument("--city", help="city id or name (default: every city)")
        parser.add_argument("--org", help="organisation slug, when the name is ambiguous")

    def handle(self, *args, city, org, **options):
        cities = [city_find(city, org)] if city else list(City.objects.order_by("pk"))
        for target in tqdm(cities, desc="cities", unit="city", disable=len(cities) < 2):
            before = target.observation_count
            with transaction.atomic():
                city_observation_summary_refresh(city=target)
            if target.observation_count != before:
                self.stdout.write(
                    f"{target.name} (id {target.pk}): {before} -> {target.observation_count} rows"
                )
        self.stdout.write(f"Recounted {len(cities)} cities.")
