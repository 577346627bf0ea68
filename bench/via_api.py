"""``bench/accuracy.py --via-api``: the issue-3 protocol driven through the public API.

Starts its own Redis (port 6410), PostgreSQL database (``energy_forecast_i13_bench``,
dropped afterwards), web server (gunicorn, port 8301) and Celery worker, then acts as
a client would, for two cities holding the same Victoria 2014 data:

- history up to the first test day is uploaded, a model trained and promoted;
- for each test day D (local days 2014-11-06 .. 2014-12-31): every 7 days a new model
  is trained on the data uploaded so far and promoted; the "weather" city uploads D's
  temperature first (its weather forecast; ex-post, as in the in-process protocol);
  both cities ask for D's forecast from D's local midnight (24 hours, the default
  quantiles); then D's actuals (demand and temperature) are uploaded, which also
  refreshes each model version's live accuracy and interval shift.

The scores are those of the forecasts the API returned, against the actuals.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
PORT = 8301
REDIS_PORT = 6410
DATABASE = "energy_forecast_i13_bench"
PG = "postgres://postgres@127.0.0.1:5432"
TZ = "Australia/Melbourne"
CITY = {"country": "AU", "timezone": TZ, "latitude": -37.81, "longitude": 144.96}


class Client:
    def __init__(self, base: str):
        self.base, self.token = base, ""

    def call(self, method, path, body=None, raw: bytes | None = None, content_type=None):
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("Content-Type", content_type or "application/json")
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"{}")

    def login(self) -> None:
        self.token = ""
        self.token = self.ok(
            "POST", "/api/v1/auth/token/", {"username": "bench", "password": "bench-pw"}
        )["access"]

    def ok(self, method, path, body=None, **kwargs):
        code, payload = self.call(method, path, body, **kwargs)
        if code == 401 and self.token:  # the access token expired (JWT_ACCESS_MINUTES)
            self.login()
            code, payload = self.call(method, path, body, **kwargs)
        if code not in (200, 201, 202):
            raise SystemExit(f"via-api: {method} {path} answered {code}: {payload}")
        return payload

    def wait(self, job: dict, timeout: float = 1800) -> dict:
        job = job.get("job", job)  # a 202 answer carries {"job": {...}}
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job = self.ok("GET", f"/api/v1/jobs/{job['id']}/")
            if job["state"] == "succeeded":
                return job
            if job["state"] in ("failed", "cancelled"):
                raise SystemExit(f"via-api: job {job['kind']} {job['state']}: {job['error']}")
            time.sleep(0.3)
        raise SystemExit(f"via-api: job {job['id']} did not finish within {timeout:.0f} s")

    def upload(self, city_id: int, frame: pd.DataFrame) -> dict:
        body = frame.rename_axis("timestamp").reset_index()
        body["timestamp"] = body["timestamp"].map(lambda t: t.isoformat())
        csv = body.to_csv(index=False).encode()
        return self.ok(
            "POST", f"/api/v1/cities/{city_id}/observations/", raw=csv, content_type="text/csv"
        )


def _local_midnight(day: pd.Timestamp) -> pd.Timestamp:
    return pd.Timestamp(day).tz_localize(TZ).tz_convert("UTC")


def _servers(env: dict, workdir: Path) -> list[subprocess.Popen]:
    bin_dir = Path(sys.executable).parent
    redis = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(REDIS_PORT),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir),
        ],
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )
    time.sleep(0.5)
    subprocess.run(
        ["psql", f"{PG}/postgres", "-qc", f"DROP DATABASE IF EXISTS {DATABASE}"], check=True
    )
    subprocess.run(["psql", f"{PG}/postgres", "-qc", f"CREATE DATABASE {DATABASE}"], check=True)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--verbosity", "0"], cwd=ROOT, env=env, check=True
    )
    create_user = (
        "from django.contrib.auth import get_user_model;"
        "from accounts.models import Organization, Membership;"
        "org = Organization.objects.create(name='Bench', slug='bench');"
        "user = get_user_model().objects.create_user(username='bench', password='bench-pw');"
        "Membership.objects.create(user=user, organization=org, role=Membership.Role.ADMIN)"
    )
    subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", create_user], cwd=ROOT, env=env, check=True
    )
    logs = open(workdir / "servers.log", "w")  # noqa: SIM115 (open for the servers' lifetime)
    web = subprocess.Popen(
        [
            str(bin_dir / "gunicorn"),
            "energy_site.wsgi",
            "-b",
            f"127.0.0.1:{PORT}",
            "--workers",
            "2",
            "--timeout",
            "120",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        stdout=logs,
        stderr=logs,
        start_new_session=True,
    )
    worker = subprocess.Popen(
        [
            str(bin_dir / "celery"),
            "-A",
            "energy_site",
            "--quiet",
            "worker",
            "--loglevel",
            "WARNING",
            "-Q",
            "inference,training,optimization",
            "--concurrency",
            "2",
        ],
        cwd=ROOT,
        env=env,
        stdout=logs,
        stderr=logs,
        start_new_session=True,
    )
    return [redis, web, worker]


def _stop(processes: list[subprocess.Popen]) -> None:
    for process in reversed(processes):
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


def _scores(forecasts: pd.DataFrame, actual: pd.Series) -> dict:
    y = actual.reindex(forecasts.index).to_numpy()
    median = forecasts["0.5"].to_numpy()
    pinball = np.mean(
        [
            np.mean(np.maximum(q * (y - forecasts[str(q)]), (q - 1) * (y - forecasts[str(q)])))
            for q in (0.05, 0.5, 0.95)
        ]
    )
    inside = (y >= forecasts["0.05"]) & (y <= forecasts["0.95"])
    return {
        "mape": float(np.mean(np.abs(median - y) / y) * 100),
        "rmse": float(np.sqrt(np.mean((median - y) ** 2))),
        "pinball": float(pinball),
        "coverage_90": float(np.mean(inside) * 100),
        "points": len(y),
    }


def run_via_api(history: pd.DataFrame, first_day: str, last_day: str, refit_days: int) -> dict:
    began = time.perf_counter()
    # A TERM (or INT) stops the servers and drops the database through ``finally``.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    signal.signal(signal.SIGINT, signal.default_int_handler)
    workdir = Path(tempfile.mkdtemp(prefix="ef-i13-via-api-"))
    env = {
        **{
            k: v
            for k, v in os.environ.items()
            if k not in ("DATABASE_URL", "REDIS_URL", "CACHE_URL")
        },
        "DATABASE_URL": f"{PG}/{DATABASE}",
        "REDIS_URL": f"redis://127.0.0.1:{REDIS_PORT}/0",
        "CACHE_URL": f"redis://127.0.0.1:{REDIS_PORT}/1",
        "MEDIA_ROOT": str(workdir / "media"),
        "DJANGO_SETTINGS_MODULE": "energy_site.settings",
        "TRAINING_REFIT_DAYS": str(refit_days),
        "WEATHER_DEFAULT_PROVIDER": "",
        "FORECAST_BATCH_WAIT_SECONDS": "0",
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }
    processes = _servers(env, workdir)
    try:
        client = Client(f"http://127.0.0.1:{PORT}")
        for _ in range(200):
            try:
                if client.call("GET", "/health/live")[0] == 200:
                    break
            except OSError:  # not listening yet
                pass
            time.sleep(0.3)
        client.login()
        days = pd.date_range(first_day, last_day, freq="D")
        start = _local_midnight(days[0])
        cities = {}
        for variant in ("weather", "no_weather"):
            city = client.ok("POST", "/api/v1/cities/", {"name": f"Melbourne {variant}", **CITY})
            cities[variant] = city["id"]
            client.wait(client.upload(city["id"], history[history.index < start]))
        issued = {variant: [] for variant in cities}
        trainings = []
        for d, day in enumerate(days):
            origin = _local_midnight(day)
            end = _local_midnight(day + pd.Timedelta(days=1))
            if d % refit_days == 0:
                started = time.perf_counter()
                jobs = {
                    v: client.ok("POST", f"/api/v1/cities/{c}/train/") for v, c in cities.items()
                }
                for variant, job in jobs.items():
                    done = client.wait(job)
                    model = done["result"]["model_version"]
                    detail = client.ok("GET", f"/api/v1/models/{model}/")
                    if detail["status"] != "active":
                        client.ok("POST", f"/api/v1/models/{model}/promote/")
                    trainings.append((variant, str(day.date()), detail["algorithm"]))
                print(
                    f"  {day:%Y-%m-%d}: trained and promoted "
                    f"({time.perf_counter() - started:.0f} s)",
                    flush=True,
                )
            today = history[(history.index >= origin) & (history.index < end)]
            client.wait(client.upload(cities["weather"], today[["temperature_c"]]))
            jobs = {
                v: client.ok(
                    "POST",
                    "/api/v1/forecasts/",
                    {"city": c, "start": origin.isoformat(), "horizon_hours": 24},
                )
                for v, c in cities.items()
            }
            for variant, job in jobs.items():
                run_id = client.wait(job)["result"]["forecast_run"]
                run = client.ok("GET", f"/api/v1/forecast-runs/{run_id}/")
                for point in run["points"]:
                    issued[variant].append(
                        {
                            "timestamp": point["timestamp"],
                            **point["quantiles"],
                            "weather": run["weather"],
                            "method": run["method"],
                        }
                    )
            for city_id in cities.values():
                client.wait(client.upload(city_id, today[["demand_mw", "temperature_c"]]))
        live = {}
        for variant, city_id in cities.items():
            models = client.ok("GET", f"/api/v1/models/?city={city_id}")["results"]
            live[variant] = [
                {
                    k: m.get(k)
                    for k in (
                        "version",
                        "status",
                        "mape",
                        "coverage_90",
                        "live_mape",
                        "live_coverage_90",
                        "live_points",
                    )
                }
                for m in models
            ]
        results = {}
        (ROOT / "var").mkdir(exist_ok=True)
        for variant, rows in issued.items():
            frame = pd.DataFrame(rows)
            frame.index = pd.to_datetime(frame.pop("timestamp"), utc=True)
            # The served runs, to compare with an in-process run point by point.
            frame.to_csv(ROOT / "var" / f"via-api-forecasts-{variant}.csv")
            local_day = frame.index.tz_convert(TZ).tz_localize(None).normalize()
            week = ((local_day - days[0]).days // refit_days).to_numpy()
            results[variant] = {
                **_scores(frame, history["demand_mw"]),
                "runs_with_weather": int((frame["weather"] != "none").sum() / 48),
                "methods": sorted(frame["method"].unique()),
                "weeks": [_scores(frame[week == w], history["demand_mw"]) for w in np.unique(week)],
            }
        return {
            "scores": results,
            "trainings": trainings,
            "live": live,
            "seconds": time.perf_counter() - began,
        }
    finally:
        _stop(processes)
        subprocess.run(
            ["psql", f"{PG}/postgres", "-qc", f"DROP DATABASE IF EXISTS {DATABASE}"], check=False
        )
        # The servers' log outlives the run (var/ is git-ignored).
        (ROOT / "var").mkdir(exist_ok=True)
        shutil.copy(workdir / "servers.log", ROOT / "var" / "via-api-servers.log")
        shutil.rmtree(workdir, ignore_errors=True)


def print_via_api(outcome: dict) -> None:
    print("\nthrough the API (gunicorn + Celery worker + PostgreSQL + Redis), same days:")
    print(f"{'variant':<14}{'MAPE %':>8}{'RMSE MW':>9}{'pinball MW':>11}{'90% cover':>10}  methods")
    for variant, s in outcome["scores"].items():
        print(
            f"{variant.replace('_', ' '):<14}{s['mape']:>8.2f}{s['rmse']:>9.1f}"
            f"{s['pinball']:>11.1f}"
            f"{s['coverage_90']:>9.1f}%  {', '.join(s['methods'])} "
            f"({s['runs_with_weather']} runs with weather)"
        )
    for variant, s in outcome["scores"].items():
        print(
            f"  by refit week ({variant.replace('_', ' ')}, MAPE % / coverage %): "
            + ", ".join(f"{w['mape']:.2f} / {w['coverage_90']:.0f}" for w in s["weeks"])
        )
    print("weekly trainings: " + "; ".join(f"{v} {d} {a}" for v, d, a in outcome["trainings"]))
    for variant, models in outcome["live"].items():
        print(
            f"live figures ({variant}): "
            + "; ".join(
                f"v{m['version']} {m['status']} backtest {m['mape']} % / {m['coverage_90']} %, "
                f"live {m['live_mape']} % / {m['live_coverage_90']} % on {m['live_points']} points"
                for m in models
            )
        )
    print(f"via-api run took {outcome['seconds']:.0f} s")
