"""GET /cities/ at utility scale: the stored observation summary against counting rows.

Fills a throw-away PostgreSQL database with ``--cities`` cities of ``--years`` years of
half-hourly observations (generated in SQL: the point is the row count, not the
values), then times, on the same rows:

- the summary refresh an upload runs in its transaction
  (``city_observation_summary_refresh``, per city);
- ``GET /api/v1/cities/`` through the real view, which reads the stored summary;
- the query the view ran before the summary existed (COUNT, MIN and MAX of each
  city's observations), for comparison.

    createdb -h 127.0.0.1 -U postgres ef_bench_cities
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ef_bench_cities \\
      REDIS_URL=redis://127.0.0.1:6379/9 CACHE_URL=redis://127.0.0.1:6379/10 \\
      .venv/bin/python bench/city_list.py [--cities 20] [--years 5] [--repeat 20]
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "energy_site.settings")
# An in-process run serves nobody: a throwaway key (settings refuse to start without one).
os.environ.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(50))
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.db.models import Count, Max, Min  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from accounts.models import Membership, Organization  # noqa: E402
from cities.models import City  # noqa: E402
from cities.services import city_observation_summary_refresh  # noqa: E402

BENCH_ORG = "bench-city-list"


def _timed_ms(action, repeat: int) -> tuple[float, float]:
    action()  # warm-up
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), max(times)


def _fill(org: Organization, cities: int, years: int) -> list[City]:
    rows = [
        City.objects.create(
            organization=org,
            name=f"City {i:03d}",
            country="AU",
            timezone="Australia/Melbourne",
            latitude=-37.8,
            longitude=145.0,
        )
        for i in range(cities)
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO forecasts_observation (city_id, timestamp, demand_mw, updated_at)
            SELECT c.id, ts, 4000 + 500 * sin(extract(epoch FROM ts) / 13751), now()
            FROM unnest(%s::bigint[]) AS c(id),
                 generate_series(%s::timestamptz, %s::timestamptz - interval '30 minutes',
                                 interval '30 minutes') AS ts
            """,
            [[c.pk for c in rows], "2010-01-01T00:00Z", f"{2010 + years}-01-01T00:00Z"],
        )
        cursor.execute("ANALYZE forecasts_observation")
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cities", type=int, default=20)
    parser.add_argument("--years", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    if connection.vendor != "postgresql" or settings.USING_EMBEDDED_DEFAULTS:
        print("bench/city_list.py measures PostgreSQL: set DATABASE_URL (see --help).")
        return 2

    call_command("migrate", verbosity=0)
    Organization.objects.filter(name=BENCH_ORG).delete()
    org = Organization.objects.create(name=BENCH_ORG, slug=BENCH_ORG)
    user = get_user_model().objects.create_user(f"{BENCH_ORG}-{time.time_ns()}")
    Membership.objects.create(user=user, organization=org)
    try:
        started = time.perf_counter()
        cities = _fill(org, args.cities, args.years)
        print(
            f"filled {args.cities} cities x {args.years} years half-hourly in "
            f"{time.perf_counter() - started:.1f} s"
        )

        refresh_times = []
        for city in cities:
            started = time.perf_counter()
            with transaction.atomic():
                city_observation_summary_refresh(city=city)
            refresh_times.append((time.perf_counter() - started) * 1000)
        rows = sum(c.observation_count for c in cities)

        client = APIClient()
        client.force_authenticate(user)

        def list_cities():
            response = client.get("/api/v1/cities/")
            assert response.status_code == 200 and response.json()["count"] == len(cities)

        def count_rows():
            list(
                City.objects.filter(organization=org)
                .annotate(
                    observation_count_now=Count("observations"),
                    first_now=Min("observations__timestamp"),
                    last_now=Max("observations__timestamp"),
                )
                .order_by("name", "pk")
                .values_list("pk", "observation_count_now", "first_now", "last_now")
            )

        api = _timed_ms(list_cities, args.repeat)
        counting = _timed_ms(count_rows, max(args.repeat // 4, 3))
        print(f"{len(cities)} cities, {rows:,} observations")
        print(
            f"  summary refresh per city (in an upload's transaction): median "
            f"{statistics.median(refresh_times):.0f} ms, max {max(refresh_times):.0f} ms"
        )
        print(
            f"  GET /api/v1/cities/ (stored summary): median {api[0]:.1f} ms, max {api[1]:.1f} ms"
        )
        print(
            f"  counting the rows per request instead (the former query): "
            f"median {counting[0]:.0f} ms, max {counting[1]:.0f} ms"
        )
    finally:
        Organization.objects.filter(name=BENCH_ORG).delete()
        user.delete()
    return 0


if __name__ == "__main__":
    sys.exit(main())
