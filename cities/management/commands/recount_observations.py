"""Recount cities' observation summaries after rows were written around the service."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from tqdm import tqdm

from cities.models import City
from cities.selectors import city_for_operator
from cities.services import city_observation_summary_refresh
from errors import DomainError


class Command(BaseCommand):
    help = (
        "Recount the observation summary (count, first, last) that GET /cities/ shows, "
        "for one city or all: needed only after rows were written by SQL or a shell."
    )

    def add_arguments(self, parser):
        parser.add_argument("--city", help="city id or name (default: every city)")
        parser.add_argument("--org", help="organisation slug, when the name is ambiguous")

    def handle(self, *args, city, org, **options):
        try:
            cities = [city_for_operator(city, org)] if city else list(City.objects.order_by("pk"))
        except DomainError as exc:
            raise CommandError(exc.message) from None
        for target in tqdm(cities, desc="cities", unit="city", disable=len(cities) < 2):
            before = target.observation_count
            with transaction.atomic():
                city_observation_summary_refresh(city=target)
            if target.observation_count != before:
                self.stdout.write(
                    f"{target.name} (id {target.pk}): {before} -> {target.observation_count} rows"
                )
        self.stdout.write(f"Recounted {len(cities)} cities.")
