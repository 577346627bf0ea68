"""Load the demo organisation, user, Melbourne, its fleet and the shipped sample data."""

from __future__ import annotations

import pandas as pd
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from tqdm import tqdm

from accounts.models import Membership, Organization
from cities.models import City
from cities.sample_data import sample_frame
from cities.services import observations_upsert
from optimization.fleet import demo_fleet_create

MELBOURNE = {
    "country": "AU",
    "timezone": "Australia/Melbourne",
    "latitude": -37.81,
    "longitude": 144.96,
    "resolution_minutes": 30,
}


class Command(BaseCommand):
    help = "Create (or refresh) the demo organisation, user 'demo' and Melbourne with 2014 data."

    def add_arguments(self, parser):
        parser.add_argument("--password", help="password of user 'demo' (default: demo)")
        parser.add_argument("--weeks", type=int, help="load only the last N weeks of the sample")

    def handle(self, *args, password, weeks, **options):
        if weeks is not None and weeks < 1:
            raise CommandError("--weeks must be at least 1.")
        with transaction.atomic():
            org, _ = Organization.objects.get_or_create(
                slug="demo", defaults={"name": "Demo Utility"}
            )
            user, user_created = get_user_model().objects.get_or_create(
                username="demo", defaults={"is_staff": True, "is_superuser": True}
            )
            if user_created or password:
                user.set_password(password or "demo")
            user.is_staff = user.is_superuser = True
            user.save()
            Membership.objects.update_or_create(
                user=user, defaults={"organization": org, "role": Membership.Role.ADMIN}
            )
            city, city_created = City.objects.get_or_create(
                organization=org, name="Melbourne", defaults=MELBOURNE
            )
            demo_fleet_create(city)
        self.stdout.write(
            f"Organisation {org.name} ({org.slug}); user demo "
            f"({'created' if user_created else 'kept'}"
            f"{', password set' if user_created or password else ''}); "
            f"city {city.name} ({'created' if city_created else 'kept'}); fleet ready."
        )

        frame = sample_frame()
        if weeks is not None:
            frame = frame[frame.index > frame.index.max() - pd.Timedelta(weeks=weeks)]
        with tqdm(total=len(frame), unit="rows", desc="sample", disable=None) as bar:
            written = observations_upsert(city=city, frame=frame, progress=bar.update)
        self.stdout.write(
            self.style.SUCCESS(
                f"{written} observations upserted ({frame.index.min():%Y-%m-%d} .. "
                f"{frame.index.max():%Y-%m-%d}); {city.observations.count()} stored for {city}."
            )
        )
