"""Server time and queries per request of the reads clients repeat most (issue 11).

    DATABASE_URL=... REDIS_URL=... CACHE_URL=... .venv/bin/python bench/read_path.py [-n 500]

In one process, through django.test.Client (the whole middleware stack, no network):
migrates DATABASE_URL, creates a throw-away organisation with a person (JWT) and an
API key, a forecast run of 48 half-hourly points with five quantiles, and a finished
and a running job; warms the cache with one request each, then times ``-n`` requests
per path and counts their queries (CaptureQueriesContext). Prints a markdown table:
median and p95 server milliseconds (wall clock: includes the Redis and PostgreSQL
round trips, and any other load on the machine), this process's CPU milliseconds per
request, queries and Redis round trips per request, body bytes. The floor is
``/health/live`` (Django with no work). Everything it created is deleted at the end.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def setup_django() -> None:
    if not os.environ.get("DATABASE_URL"):
        sys.exit("Set DATABASE_URL (and REDIS_URL/CACHE_URL): the figures are for real servers.")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "energy_site.settings")
    # An in-process run serves nobody: a throwaway key (settings refuse to start without one).
    os.environ.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(50))
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def fixtures(tag: str) -> dict:
    import pandas as pd
    from django.contrib.auth import get_user_model
    from django.utils import timezone
    from rest_framework_simplejwt.tokens import AccessToken

    from accounts.models import ApiKey, Membership, Organization
    from accounts.password_stamps import PASSWORD_CLAIM, password_stamp
    from accounts.services import api_key_issue
    from cities.models import City
    from forecasts.models import Forecast, ForecastRun
    from jobs.models import Job

    org = Organization.objects.create(name=f"bench {tag}", slug=f"bench-{tag}")
    user = get_user_model().objects.create_user(username=f"bench-{tag}", password=tag)
    Membership.objects.create(user=user, organization=org, role=Membership.Role.ADMIN)
    token = AccessToken.for_user(user)
    token[PASSWORD_CLAIM] = password_stamp(user)
    raw_key = api_key_issue(ApiKey(organization=org, name="bench"))
    city = City.objects.create(
        organization=org, name="Melbourne", country="AU", timezone="Australia/Melbourne",
        latitude=-37.81, longitude=144.96, resolution_minutes=30,
    )  # fmt: skip
    start = pd.Timestamp("2014-12-30 13:00", tz="UTC")
    quantiles = [0.05, 0.1, 0.5, 0.9, 0.95]
    job = Job.objects.create(organization=org, user=user, kind="forecast", params={"city": 1})
    run = ForecastRun.objects.create(
        city=city, method="catboost", start=start, horizon_hours=24, quantiles=quantiles, job=job
    )
    Forecast.objects.bulk_create(
        Forecast(
            run=run, city=city, timestamp=start + timedelta(minutes=30 * i),
            demand=5000.0 + i, confidence_lower=4700.123 + i, confidence_upper=5300.456 + i,
            quantiles={"0.1": 4800.5 + i, "0.9": 5200.25 + i},
        )
        for i in range(48)
    )  # fmt: skip
    now = timezone.now()
    Job.objects.filter(pk=job.pk).update(
        state="succeeded", progress=100, attempts=1, started_at=now, finished_at=now,
        result={"forecast_run": run.pk, "points": 48},
    )  # fmt: skip
    running = Job.objects.create(
        organization=org, user=user, kind="forecast", params={"city": 2},
        state="running", attempts=1, started_at=now, lease_expires_at=now + timedelta(minutes=5),
    )  # fmt: skip
    return {
        "org": org,
        "user": user,
        "jwt": f"Bearer {token}",
        "key": f"Api-Key {raw_key}",
        "run": run,
        "job": job,
        "running": running,
    }


class RedisRoundTrips:
    """Counts what redis-py sends (one packed command per call, a pipeline is one)."""

    def __init__(self):
        from redis.connection import Connection

        self.count = 0
        self._connection, self._send = Connection, Connection.send_packed_command

    def __enter__(self):
        def counted(connection, *args, **kwargs):
            self.count += 1
            return self._send(connection, *args, **kwargs)

        self._connection.send_packed_command = counted
        return self

    def __exit__(self, *exc):
        self._connection.send_packed_command = self._send


def measure(client, path: str, n: int, **headers) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    first = client.get(path, **headers)  # warms the cache
    assert first.status_code in (200, 304), (path, first.status_code, first.content[:300])
    times = []
    cpu_began = time.process_time()
    with CaptureQueriesContext(connection) as queries, RedisRoundTrips() as redis_calls:
        for _ in range(n):
            began = time.perf_counter()
            response = client.get(path, **headers)
            times.append((time.perf_counter() - began) * 1000)
    cpu = (time.process_time() - cpu_began) * 1000 / n
    times.sort()
    return {
        "status": response.status_code,
        "p50": statistics.median(times),
        "p95": times[int(0.95 * (len(times) - 1))],
        "cpu": cpu,
        "queries": len(queries) / n,
        "redis": redis_calls.count / n,
        "bytes": len(response.content),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=500, help="timed requests per path")
    args = parser.parse_args()
    setup_django()
    from django.conf import settings
    from django.test import Client

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    # The bench's own bucket must not be the figure: rates far above what it sends.
    unlimited = {scope: "1000000/min" for scope in ("user", "api_key", "organization")}
    settings.API_THROTTLE_RATES = {**settings.API_THROTTLE_RATES, **unlimited}
    tag = secrets.token_hex(4)
    made = fixtures(tag)
    client = Client()
    run, job, running = made["run"], made["job"], made["running"]
    rows = [("GET /health/live (floor)", "/health/live", {})]
    for auth in ("jwt", "key"):
        header = {"HTTP_AUTHORIZATION": made[auth]}
        rows += [
            (f"GET /forecast-runs/{{id}}/ cached, {auth}",
             f"/api/v1/forecast-runs/{run.pk}/", header),
            (f"GET /jobs/{{id}}/ finished, {auth}", f"/api/v1/jobs/{job.pk}/", header),
            (f"GET /jobs/{{id}}/ running, {auth}", f"/api/v1/jobs/{running.pk}/", header),
        ]  # fmt: skip
    etag_of = {}
    for path in (f"/api/v1/forecast-runs/{run.pk}/", f"/api/v1/jobs/{job.pk}/"):
        etag = client.get(path, HTTP_AUTHORIZATION=made["jwt"]).headers.get("ETag")
        if etag:
            etag_of[path] = etag
    for path, etag in etag_of.items():
        name = "run" if "forecast-runs" in path else "job"
        rows.append(
            (f"GET {name} If-None-Match (304), jwt", path,
             {"HTTP_AUTHORIZATION": made["jwt"], "HTTP_IF_NONE_MATCH": etag})
        )  # fmt: skip
    try:
        print(f"{args.n} requests per path after one warming request; server ms in-process\n")
        print("| path | status | p50 ms | p95 ms | CPU ms | queries | Redis round trips | bytes |")
        print("|---|---|---|---|---|---|---|---|")
        for name, path, headers in rows:
            got = measure(client, path, args.n, **headers)
            print(
                f"| {name} | {got['status']} | {got['p50']:.2f} | {got['p95']:.2f} "
                f"| {got['cpu']:.2f} | {got['queries']:.2f} | {got['redis']:.2f} | {got['bytes']} |"
            )
    finally:
        made["org"].delete()
        made["user"].delete()


if __name__ == "__main__":
    main()
