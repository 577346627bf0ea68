"""Faults and abuse against the real processes (issue 10; docs/reliability.md).

Starts its own PostgreSQL database (CREATE DATABASE on the server of $CHAOS_PG, dropped
at the end), its own Redis (redis-server on port $CHAOS_REDIS_PORT, no persistence),
and its own Celery worker, Celery beat and gunicorn (deploy/gunicorn.conf.py), each in
its own process group; it stops only those, by process group. Then, as an API client:

  worker SIGKILL mid-training | mid-batch (40 forecasts) | mid-dispatch
  one pool child SIGKILLed (what the OOM killer does)
  Redis stopped and restarted empty with jobs queued and clients posting
  pg_terminate_backend of every connection, repeatedly, while jobs are claimed
  50 slow clients (half send 3 of 100 body bytes, half stay idle) vs a cached GET

and prints one row per fault: jobs accepted (202), succeeded, duplicated (a job with
more than one forecast run, model version or set of dispatch rows), lost (accepted but
not succeeded), and seconds to recover (from the fault until every job it hit is
running again on a live worker or finished). It exits 1 if anything is lost or
duplicated, a recovery takes more than 60 s, or the cached GET's p99 under the slow
clients passes 100 ms.

    nice .venv/bin/python bench/chaos.py            # about 6 minutes on 2 cores
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.deploy.processes import isolated_stack_env  # noqa: E402

BIN = Path(sys.executable).parent
PG = os.environ.get("CHAOS_PG", "postgres://postgres@127.0.0.1:5432")
DB = os.environ.get("CHAOS_DB", "energy_forecast_i10_chaos")
REDIS_PORT = int(os.environ.get("CHAOS_REDIS_PORT", "6390"))
WEB_PORT = int(os.environ.get("CHAOS_WEB_PORT", "8100"))
RECOVERY_LIMIT_SECONDS = 60
P99_LIMIT_MS = 100
WORK = Path(tempfile.mkdtemp(prefix="ef-chaos-"))

ENV = isolated_stack_env(
    database_url=f"{PG}/{DB}",
    redis_port=REDIS_PORT,
    work=WORK,
    # Small trainings (seconds, not minutes) so that a kill lands mid-training.
    TRAINING_ITERATIONS="150",
    TRAINING_BACKTEST_DAYS="7",
    TRAINING_CALIBRATION_DAYS="7",
    TRAINING_FAMILIES="catboost,catboost-no-weather,seasonal-naive",
    # A batch waits a second for requests to gather: a wider window to kill it in.
    FORECAST_BATCH_WAIT_SECONDS="1.0",
    API_THROTTLE_RATE="100000/min",
    ORGANIZATION_THROTTLE_RATE="100000/min",
    LOGIN_THROTTLE_RATE="1000/min",
    GUNICORN_BIND=f"127.0.0.1:{WEB_PORT}",
)
for name in ("DATABASE_URL", "REDIS_URL", "CACHE_URL", "DJANGO_SECRET_KEY"):
    os.environ[name] = ENV[name]
os.environ.update(MEDIA_ROOT=ENV["MEDIA_ROOT"], ENERGY_VAR_DIR=ENV["ENERGY_VAR_DIR"])
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "energy_site.settings")
os.environ["LOG_LEVEL"] = "WARNING"


class Group:
    """A child process in its own process group, stopped by that group only."""

    def __init__(self, name: str, args: list[str]):
        self.name, self.args = name, args
        self.log = open(WORK / f"{name}.log", "ab")  # noqa: SIM115 (kept for the process)
        self.process = None

    def start(self) -> Group:
        self.process = subprocess.Popen(
            self.args, cwd=ROOT, env=ENV, stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        return self

    def kill(self, sig=signal.SIGKILL) -> None:
        if self.process and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, sig)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


def redis_group() -> Group:
    return Group("redis", ["redis-server", "--port", str(REDIS_PORT), "--bind", "127.0.0.1",
                           "--save", "", "--appendonly", "no", "--daemonize", "no"])  # fmt: skip


def worker_group() -> Group:
    return Group("worker", [str(BIN / "celery"), "-A", "energy_site", "worker", "-Q",
                            "inference,training,optimization", "-c", "2", "--loglevel",
                            "WARNING", "-n", f"chaos{secrets.token_hex(2)}@%h"])  # fmt: skip


def wait_until(predicate, timeout: float, what: str, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = predicate()
        except Exception:  # a dependency that is still starting
            value = None
        if value:
            return value
        time.sleep(interval)
    raise SystemExit(f"chaos: timed out waiting for {what}")


class Api:
    def __init__(self):
        self.base = f"http://127.0.0.1:{WEB_PORT}"
        self.token = ""

    def call(self, method, path, body=None, timeout=30):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"{}")
        except OSError:
            return 0, {}


# --- the faults -------------------------------------------------------------------------


class Bench:
    def __init__(self):
        self.rows = []
        self.api = Api()
        self.redis = redis_group()
        self.worker = worker_group()
        self.beat = Group("beat", [str(BIN / "celery"), "-A", "energy_site", "beat",
                                   "--loglevel", "WARNING", "-s", str(WORK / "beat")])  # fmt: skip
        self.web = Group("web", [str(BIN / "gunicorn"), "-c", "deploy/gunicorn.conf.py",
                                 "energy_site.wsgi"])  # fmt: skip

    # -- set-up
    def start(self):
        subprocess.run(["psql", PG, "-qc", f'DROP DATABASE IF EXISTS "{DB}"'], check=True)
        subprocess.run(["psql", PG, "-qc", f'CREATE DATABASE "{DB}"'], check=True)
        self.redis.start()
        wait_until(lambda: socket.create_connection(("127.0.0.1", REDIS_PORT)).close() or 1, 20,
                   "redis")  # fmt: skip
        manage = [sys.executable, "manage.py"]
        subprocess.run([*manage, "migrate", "-v", "0"], cwd=ROOT, env=ENV, check=True)
        subprocess.run([*manage, "load_sample", "--weeks", "16", "--password", "chaos-pass"],
                       cwd=ROOT, env=ENV, check=True, stdout=subprocess.DEVNULL)  # fmt: skip
        import django

        django.setup()
        self.web.start()
        self.worker.start()
        self.beat.start()
        wait_until(lambda: self.api.call("GET", "/health/live")[0] == 200, 60, "gunicorn")
        status, body = self.api.call(
            "POST", "/api/v1/auth/token/", {"username": "demo", "password": "chaos-pass"}
        )
        self.api.token = body["access"]
        self.city = self.api.call("GET", "/api/v1/cities/")[1]["results"][0]
        self.end = self.city["data_coverage"]["last"]

    def stop(self):
        for group in (self.web, self.beat, self.worker, self.redis):
            group.kill(signal.SIGTERM)
        from django.db import connections

        connections.close_all()
        subprocess.run(["psql", PG, "-qc", f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)'])
        shutil.rmtree(WORK, ignore_errors=True)

    # -- helpers
    def jobs(self, ids):
        from django.db import close_old_connections

        from jobs.models import Job

        close_old_connections()
        for attempt in range(20):
            try:
                return {str(j.pk): j for j in Job.objects.filter(pk__in=list(ids))}
            except Exception:
                from django.db import connection

                connection.close()
                time.sleep(0.5 + attempt * 0.1)
        raise SystemExit("chaos: the database did not answer")

    def forecast_items(self, n, offset_days=0, hours=24):
        # Each scenario asks with its own horizon: an identical request would get an
        # earlier scenario's (finished) job back instead of a new one.
        start = _iso_day(self.end, -n - offset_days)
        return [
            {"city": self.city["id"], "start": _shift(start, days=i), "horizon_hours": hours}
            for i in range(n)
        ]

    def post_jobs(self, kind: str, n: int = 1, **extra) -> list[str]:
        ids = []
        if kind == "forecast":
            status, body = self.api.call(
                "POST", "/api/v1/forecasts/batch/", {"items": self.forecast_items(n, **extra)}
            )
            if status == 202:
                ids = [job["id"] for job in body["jobs"]]
        elif kind == "train":
            status, body = self.api.call("POST", f"/api/v1/cities/{self.city['id']}/train/")
            if status == 202:
                ids = [body["job"]["id"]]
        elif kind == "optimize":
            status, body = self.api.call("POST", "/api/v1/dispatch/", {
                "forecast_run": extra["run"], "mode": "stochastic",
                "policy": {"min_renewable_share": round(0.1 + secrets.randbelow(80) / 100, 2)},
            })  # fmt: skip
            if status == 202:
                ids = [body["job"]["id"]]
        return ids

    def wait_running(self, ids, timeout=120, progress=0):
        def running():
            return [j for j in self.jobs(ids).values()
                    if j.state == "running" and j.progress >= progress]  # fmt: skip

        return wait_until(running, timeout, "a running job", interval=0.02)

    def outcome(self, fault: str, ids: list[str], hit_at: float, attempts_before: dict,
                finish_timeout: float = 240.0, extra: str = ""):  # fmt: skip
        """Wait for every job; recovery = until each hit job is claimed again or done.
        A repeated request answered with the same job counts once."""
        ids = list(dict.fromkeys(ids))
        from django.db.models import Count

        from forecasts.models import ForecastRun
        from optimization.models import DispatchRun, EnergyMix
        from training.models import ModelVersion

        recovered_at = {}
        deadline = time.monotonic() + finish_timeout
        while time.monotonic() < deadline:
            jobs = self.jobs(ids)
            now = time.monotonic()
            for pk, job in jobs.items():
                if pk in recovered_at:
                    continue
                again = job.state == "running" and job.attempts > attempts_before.get(pk, 0)
                if job.is_finished or again:
                    recovered_at[pk] = now
            if all(j.is_finished for j in jobs.values()):
                break
            time.sleep(0.25)
        jobs = self.jobs(ids)
        succeeded = [pk for pk, j in jobs.items() if j.state == "succeeded"]
        duplicated = 0
        for pk, job in jobs.items():
            if job.kind == "forecast":
                duplicated += ForecastRun.objects.filter(job_id=pk).count() > 1
            elif job.kind == "train":
                duplicated += ModelVersion.objects.filter(job_id=pk).count() > 1
            elif job.kind == "optimize":
                runs = DispatchRun.objects.filter(job_id=pk)
                repeated = (
                    EnergyMix.objects.filter(dispatch_run__in=runs)
                    .values("dispatch_run", "source_name", "timestamp")
                    .annotate(n=Count("id"))
                    .filter(n__gt=1)
                    .exists()
                )
                duplicated += len(runs) > 1 or repeated
        hit = [pk for pk in attempts_before]
        recover = max((recovered_at.get(pk, float("inf")) - hit_at for pk in hit), default=0.0)
        self.rows.append({
            "fault": fault, "accepted": len(ids), "succeeded": len(succeeded),
            "duplicated": duplicated, "lost": len(ids) - len(succeeded),
            "recover_s": max(recover, 0.0), "note": extra,
        })  # fmt: skip
        print(f"   {fault}: {self.rows[-1]}", flush=True)

    def touch_data(self):
        """Re-upload the last observation, a megawatt higher: the city's data changed, so
        the next training request is a new job, not the finished one reused."""
        from cities.models import Observation

        last = Observation.objects.filter(city_id=self.city["id"]).order_by("-timestamp").first()
        csv = f"timestamp,demand_mw\n{last.timestamp.isoformat()},{last.demand_mw + 1}\n"
        request = urllib.request.Request(
            f"{self.api.base}/api/v1/cities/{self.city['id']}/observations/",
            data=csv.encode(), method="POST",
            headers={"Content-Type": "text/csv", "Authorization": f"Bearer {self.api.token}"},
        )  # fmt: skip
        with urllib.request.urlopen(request, timeout=30) as response:
            job_id = json.loads(response.read())["job"]["id"]
        wait_until(lambda: self.jobs([job_id])[job_id].is_finished, 120, "an upload")

    def kill_worker(self):
        self.worker.kill()
        self.worker = worker_group().start()  # what a supervisor or a deploy does

    # -- the scenarios
    def worker_kill_mid_training(self):
        self.touch_data()
        ids = self.post_jobs("train")
        running = self.wait_running(ids, progress=5)
        before = {str(j.pk): j.attempts for j in running}
        hit_at = time.monotonic()
        self.kill_worker()
        self.outcome("worker SIGKILL mid-training", ids, hit_at, before)

    def worker_kill_mid_batch(self):
        ids = self.post_jobs("forecast", 40, offset_days=0, hours=24)
        self.wait_running(ids)
        hit_at = time.monotonic()
        self.kill_worker()
        before = {pk: j.attempts for pk, j in self.jobs(ids).items() if j.state == "running"}
        self.outcome("worker SIGKILL mid-batch", ids, hit_at, before,
                     extra=f"{len(before)} running when killed")  # fmt: skip

    def worker_kill_mid_dispatch(self):
        run = self.week_run()
        ids = self.post_jobs("optimize", run=run)
        running = self.wait_running(ids)
        before = {str(j.pk): j.attempts for j in running}
        hit_at = time.monotonic()
        self.kill_worker()
        self.outcome("worker SIGKILL mid-dispatch", ids, hit_at, before)

    def pool_child_kill(self):
        self.touch_data()
        ids = self.post_jobs("train")
        [job] = self.wait_running(ids, progress=5)
        pid = int(job.worker.split(":")[1])
        before = {str(job.pk): job.attempts}
        hit_at = time.monotonic()
        os.kill(pid, signal.SIGKILL)  # a child of our own worker (its token names it)
        self.outcome("pool child SIGKILL (OOM) mid-training", ids, hit_at, before)

    def week_run(self, hours: int = 168, offset_days: int = 60) -> int:
        ids = self.post_jobs("forecast", 1, offset_days=offset_days, hours=hours)
        wait_until(lambda: all(j.is_finished for j in self.jobs(ids).values()), 120, "a run")
        return self.jobs(ids)[ids[0]].result["forecast_run"]

    def redis_restart_empty(self):
        run = self.week_run()
        self.touch_data()
        self.worker.kill()
        ids = self.post_jobs("forecast", 10, offset_days=20, hours=23)
        ids += self.post_jobs("train") + self.post_jobs("optimize", run=run)
        self.redis.kill()
        refused, accepted_during = 0, []
        stop = threading.Event()

        def clients():
            day = 0
            while not stop.is_set():
                day += 1
                got = self.post_jobs("forecast", 1, offset_days=day % 40, hours=21)
                if got:
                    accepted_during.extend(got)
                else:
                    nonlocal refused
                    refused += 1
                time.sleep(0.3)

        poster = threading.Thread(target=clients, daemon=True)
        poster.start()
        time.sleep(3)
        self.redis = redis_group().start()  # empty: no persistence
        hit_at = time.monotonic()
        self.worker = worker_group().start()
        time.sleep(5)
        stop.set()
        poster.join(10)
        before = {pk: 0 for pk in ids}
        self.outcome("Redis restarted empty, jobs queued, clients posting",
                     ids + accepted_during, hit_at, before,
                     extra=f"{refused} posts answered 503 during the outage")  # fmt: skip

    def postgres_backends_killed(self):
        import psycopg2

        run = self.week_run()
        stop = threading.Event()
        kills = [0]

        def killer():
            conn = psycopg2.connect(f"{PG}/{DB}")
            conn.autocommit = True
            while not stop.is_set():
                with conn.cursor() as cursor:
                    cursor.execute(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                        "WHERE datname = %s AND pid <> pg_backend_pid()", [DB],
                    )  # fmt: skip
                    kills[0] += cursor.fetchone()[0]
                time.sleep(0.4)
            conn.close()

        thread = threading.Thread(target=killer, daemon=True)
        ids, refused = [], 0
        thread.start()
        hit_at = time.monotonic()
        for round_ in range(8):
            for got in (
                self.post_jobs("forecast", 5, offset_days=round_ * 5, hours=22),
                self.post_jobs("optimize", run=run),
            ):
                refused += not got
                ids += got
            time.sleep(0.5)
        stop.set()
        thread.join(10)
        before = {pk: 0 for pk in ids}
        self.outcome("pg_terminate_backend mid-claim", ids, hit_at, before,
                     extra=f"{kills[0]} backends killed; {refused} posts answered 503")  # fmt: skip

    def slow_clients(self):
        run = self.week_run(hours=24, offset_days=50)  # a day-ahead run: 48 points
        path = f"/api/v1/forecast-runs/{run}/"
        self.api.call("GET", path)  # cached from now on

        def p99(n=300):
            latencies = []
            for _ in range(n):
                started = time.perf_counter()
                status, _ = self.api.call("GET", path)
                latencies.append((time.perf_counter() - started) * 1000 if status == 200 else 1e6)
            latencies.sort()
            return latencies[int(n * 0.99) - 1], latencies[n // 2]

        baseline, baseline_median = p99()
        slow = []
        for i in range(50):
            sock = socket.create_connection(("127.0.0.1", WEB_PORT))
            if i % 2 == 0:
                sock.sendall(
                    b"POST /api/v1/auth/token/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    b'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"u'
                )
            slow.append(sock)
        time.sleep(0.5)
        loaded, loaded_median = p99()
        for sock in slow:
            sock.close()
        self.rows.append({
            "fault": "50 slow clients (cached GET p99)", "accepted": 300, "succeeded": 300,
            "duplicated": 0, "lost": 0, "recover_s": 0.0,
            "note": f"p99 {loaded:.1f} ms (median {loaded_median:.1f}) with them; "
                    f"{baseline:.1f} ms (median {baseline_median:.1f}) before",
            "p99_ms": loaded,
        })  # fmt: skip
        print(f"   slow clients: p99 {baseline:.1f} -> {loaded:.1f} ms", flush=True)


def _iso_day(last: str, days: int) -> str:
    import pandas as pd

    local = pd.Timestamp(last).tz_convert("Australia/Melbourne").normalize()
    return (local + pd.Timedelta(days=days)).isoformat()


def _shift(start: str, days: int) -> str:
    import pandas as pd

    return (pd.Timestamp(start) + pd.Timedelta(days=days)).isoformat()


def main() -> int:
    bench = Bench()
    began = time.monotonic()
    try:
        print(f"chaos: own database {DB}, Redis :{REDIS_PORT}, gunicorn :{WEB_PORT}", flush=True)
        bench.start()
        print("chaos: stack up; faults:", flush=True)
        for scenario in (
            bench.worker_kill_mid_training,
            bench.worker_kill_mid_batch,
            bench.worker_kill_mid_dispatch,
            bench.pool_child_kill,
            bench.redis_restart_empty,
            bench.postgres_backends_killed,
            bench.slow_clients,
        ):
            scenario()
    finally:
        bench.stop()
    print()
    print("| fault | accepted | succeeded | duplicated | lost | seconds to recover | note |")
    print("|---|---|---|---|---|---|---|")
    failed = False
    for row in bench.rows:
        print(f"| {row['fault']} | {row['accepted']} | {row['succeeded']} | {row['duplicated']} "
              f"| {row['lost']} | {row['recover_s']:.1f} | {row['note']} |")  # fmt: skip
        failed |= bool(row["lost"] or row["duplicated"])
        failed |= row["recover_s"] > RECOVERY_LIMIT_SECONDS
        failed |= row.get("p99_ms", 0) > P99_LIMIT_MS
    print(f"\nchaos: {time.monotonic() - began:.0f} s; {'FAILED' if failed else 'all held'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
