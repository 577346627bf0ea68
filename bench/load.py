"""Serving at load (issue 11): what the hot paths cost behind gunicorn and a real worker.

Starts its own PostgreSQL database (ef_load_<pid> on the server of $LOAD_PG, dropped at
the end), its own Redis (a child redis-server on port 6429, no persistence), gunicorn
with deploy/gunicorn.conf.py and a Celery worker, each in its own process group
(tests/deploy/processes.py), and stops only those, by process group, at the end, on
Ctrl-C or on an error. Loads the shipped sample (Victoria 2014, the last --weeks weeks)
with the demo's own command (load_sample: organisation "demo", user, Melbourne), signs
in for a JWT, and trains once through the API with the fastest configuration the test
suite uses (catboost, catboost-no-weather, seasonal-naive; 150 iterations; 7-day
backtest and calibration). Then, in one run:

- wrk (2 threads, --connections, --duration) on single-URL GETs, in --rounds rounds
  (each measures every path once; the table gives each figure's median over the rounds
  and the median of each round's ratio to that round's floor): the floor
  ``/health/live``, a cached ``/api/v1/forecast-runs/{id}/``, ``/api/v1/jobs/{id}/`` of a
  succeeded job and of a queued one. The queued job is a dispatch request: the worker
  started here consumes the ``inference`` queue only, so an ``optimization`` job stays
  queued, honestly, for the whole run (nothing is paused or faked). Once the server
  sends an ``ETag``, the same GETs with ``If-None-Match`` (304) too; skipped before;
- one client, one request at a time: forecast POST -> job succeeded, by ``?wait=10``
  long-poll once the server holds such a request, else polling every 50 ms;
- an asyncio client (stdlib streams, keep-alive; --connections at once) for
  ``POST /api/v1/forecasts/`` (distinct requests, so none is answered by request reuse)
  and ``POST /api/v1/forecasts/batch/`` with 100 items, one batch at a time. The worker
  is stopped while these are measured (a write's cost is the web's, not the worker's);
  the jobs they made are then cancelled and their messages purged from our Redis;
- the same paths in-process (Django test Client on the same database and cache, after
  warming): server time per request (mean, p50) and queries per request
  (CaptureQueriesContext), without the network;
- end to end: --e2e day-ahead (24 h) forecast requests in batch POSTs of 100 until every
  job succeeded, once with the default FORECAST_BATCH_SIZE and once with
  FORECAST_BATCH_SIZE=1 (the worker restarted with the variable changed). The two passes
  send identical request sets; the first pass's jobs lose their request key before the
  second, so request reuse cannot answer the second pass (checked: no job id in common).

It prints one table (req/s, p50/p95/p99 ms, server ms, queries, ratio to the floor) and
the issue's targets, met or missed. Exit status 0 whatever the targets, unless --strict.

    /work/main/.venv/bin/python bench/load.py            # about 3 minutes on 2 cores
    /work/main/.venv/bin/python bench/load.py --quick    # about 2.5 minutes
    /work/main/.venv/bin/python bench/load.py --worker-class sync --gunicorn-workers 3 \\
        --gunicorn-threads 1 --celery-concurrency 1
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.deploy.processes import (  # noqa: E402
    Process,
    http_json,
    isolated_stack_env,
    port_is_free,
    wait_until,
)

BIN = Path(sys.executable).parent
PG = os.environ.get("LOAD_PG", "postgres://postgres@127.0.0.1:5432")
REDIS_PORT = 6429
PASSWORD = "load-" + secrets.token_hex(8)
FAST_TRAINING = {
    "TRAINING_ITERATIONS": "150",
    "TRAINING_BACKTEST_DAYS": "7",
    "TRAINING_CALIBRATION_DAYS": "7",
    "TRAINING_REFIT_DAYS": "7",
    "TRAINING_FAMILIES": "catboost,catboost-no-weather,seasonal-naive",
}

# wrk prints its own summary; this script adds one machine-readable line with p95.
WRK_SCRIPT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests": %d, "duration_us": %d, "bytes": %d, "connect_errors": %d, ' ..
    '"read_errors": %d, "write_errors": %d, "timeouts": %d, "non_2xx_3xx": %d, ' ..
    '"p50_us": %d, "p95_us": %d, "p99_us": %d, "max_us": %d, "mean_us": %.1f}\\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write,
    e.timeout, e.status, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), latency.max, latency.mean))
end
"""


# --- pure helpers (tests/test_bench_load.py) ---------------------------------------------


def parse_wrk(output: str) -> dict:
    """wrk's output with WRK_SCRIPT's summary line -> req/s, latencies in ms, errors."""
    for line in output.splitlines():
        if line.startswith("WRKJSON "):
            raw = json.loads(line[len("WRKJSON ") :])
            break
    else:
        raise ValueError(f"no WRKJSON line in wrk output:\n{output[-2000:]}")
    seconds = raw["duration_us"] / 1e6
    errors = sum(raw[k] for k in ("connect_errors", "read_errors", "write_errors", "timeouts"))
    return {
        "requests": raw["requests"],
        "rps": raw["requests"] / seconds if seconds else 0.0,
        "p50": raw["p50_us"] / 1000,
        "p95": raw["p95_us"] / 1000,
        "p99": raw["p99_us"] / 1000,
        "max": raw["max_us"] / 1000,
        "errors": errors,
        "non_2xx": raw["non_2xx_3xx"],
    }


def percentile(values, q: float) -> float:
    """The q-th percentile (0..100) by nearest rank; nan for no values."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def parse_head(head: bytes) -> tuple[int, dict[str, str]]:
    """An HTTP/1.1 response head (status line and headers, without the blank line) ->
    (status, {lower-case name: value})."""
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/"):
        raise ValueError(f"not an HTTP status line: {lines[0]!r}")
    headers = {}
    for line in lines[1:]:
        if not line:
            continue
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(parts[1]), headers


def latency_summary(latencies_s: list[float], wall_s: float) -> dict:
    ms = [v * 1000 for v in latencies_s]
    return {
        "requests": len(ms),
        "rps": len(ms) / wall_s if wall_s else 0.0,
        "p50": percentile(ms, 50),
        "p95": percentile(ms, 95),
        "p99": percentile(ms, 99),
        "max": max(ms, default=math.nan),
    }


def rounds_merged(rounds: list[dict[str, dict]]) -> dict[str, dict]:
    """One row per path from several rounds of the same measurements: the median of each
    figure, and ``ratio`` the median of each round's req/s over that round's floor.

    The machine is shared: another process's burst lands in one round, and a path
    measured during it would otherwise carry it alone (floor and paths alternate in
    every round, so each ratio compares neighbours in time)."""
    merged: dict[str, dict] = {}
    for key in {k for measured in rounds for k in measured}:
        present = [measured for measured in rounds if key in measured]
        row = {}
        for name in ("requests", "rps", "p50", "p95", "p99", "max", "errors", "non_2xx"):
            values = [measured[key][name] for measured in present if name in measured[key]]
            if values:
                row[name] = statistics.median(values)
        ratios = [measured[key]["rps"] / measured["floor"]["rps"]
                  for measured in present if measured.get("floor", {}).get("rps")]  # fmt: skip
        if ratios:
            row["ratio"] = statistics.median(ratios)
        row["rounds"] = len(present)
        merged[key] = row
    return merged


@dataclass
class Target:
    name: str
    value: float
    limit: float
    higher_is_better: bool
    unit: str = ""

    @property
    def met(self) -> bool:
        if self.value is None or math.isnan(self.value):
            return False
        return self.value >= self.limit if self.higher_is_better else self.value < self.limit


def targets_for(rows: dict[str, dict], e2e: dict[str, dict]) -> list[Target]:
    """The issue's targets from the measured rows (keys of ROW_LABELS) and end-to-end passes."""
    nan = math.nan
    floor = rows.get("floor", {}).get("rps") or nan
    found = []
    for key, label in (("run", "cached run"), ("job_done", "finished job")):
        row = rows.get(key, {})
        found += [
            Target(
                f"{label}: throughput / floor",
                row.get("ratio", row.get("rps", nan) / floor),
                0.5,
                True,
                "x",
            ),  # fmt: skip
            Target(f"{label}: p99 at load", row.get("p99", nan), 50, False, " ms"),
            Target(f"{label}: server time", row.get("server_ms", nan), 3, False, " ms"),
        ]
    found.append(
        Target(
            "forecast POST: server time",
            rows.get("post", {}).get("server_ms", nan),
            5,
            False,
            " ms",
        )
    )
    found.append(
        Target(
            "batch POST (100 items): p50", rows.get("batch", {}).get("p50", nan), 150, False, " ms"
        )  # fmt: skip
    )
    batched = e2e.get("batched", {}).get("runs_per_s", nan)
    single = e2e.get("single", {}).get("runs_per_s", nan)
    found.append(Target("end to end: day-ahead runs/s", batched, 40, True, "/s"))
    found.append(Target("end to end: batched / batch size 1", batched / single, 4, True, "x"))
    return found


ROW_LABELS = {
    "floor": "GET /health/live (floor)",
    "run": "GET /forecast-runs/{id}/ (cached)",
    "job_done": "GET /jobs/{id}/ (succeeded)",
    "job_queued": "GET /jobs/{id}/ (queued)",
    "run_304": "GET /forecast-runs/{id}/ If-None-Match (304)",
    "job_304": "GET /jobs/{id}/ (succeeded) If-None-Match (304)",
    "post": "POST /forecasts/",
    "batch": "POST /forecasts/batch/ (100 items, 1 at a time)",
}


def _fmt(value, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.{digits}f}"


def format_table(rows: dict[str, dict]) -> str:
    floor = rows.get("floor", {}).get("rps")
    out = [
        "| path | req/s | p50 ms | p95 ms | p99 ms | server ms (mean / p50) | queries "
        "| ratio to floor |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for key, label in ROW_LABELS.items():
        if key not in rows:
            continue
        row = rows[key]
        ratio = row.get("ratio")
        if ratio is None:
            ratio = row["rps"] / floor if floor and row.get("rps") is not None else math.nan
        server = f"{_fmt(row.get('server_ms'), 2)} / {_fmt(row.get('server_p50'), 2)}"
        out.append(
            f"| {label} | {_fmt(row.get('rps'))} | {_fmt(row.get('p50'))} | {_fmt(row.get('p95'))}"
            f" | {_fmt(row.get('p99'))} | {server} | {_fmt(row.get('queries'), 1)} "
            f"| {_fmt(ratio, 2)} |"
        )
    return "\n".join(out)


def format_targets(targets: list[Target]) -> str:
    out = ["| target | measured | limit | |", "|---|---|---|---|"]
    for t in targets:
        sign = ">=" if t.higher_is_better else "<"
        out.append(
            f"| {t.name} | {_fmt(t.value, 2)}{t.unit} | {sign} {t.limit:g}{t.unit} "
            f"| {'met' if t.met else 'MISSED'} |"
        )
    return "\n".join(out)


# --- a small keep-alive HTTP/1.1 client (asyncio streams, no dependency) ----------------


class Connection:
    def __init__(self, port: int):
        self.port = port
        self.reader = self.writer = None

    async def request(self, method: str, path: str, body: bytes = b"", headers=None):
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        if body or method in ("POST", "PUT", "PATCH"):
            lines.append(f"Content-Length: {len(body)}")
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        await self.writer.drain()
        head = await self.reader.readuntil(b"\r\n\r\n")
        status, answer_headers = parse_head(head[:-4])
        if "content-length" in answer_headers:
            data = await self.reader.readexactly(int(answer_headers["content-length"]))
        elif answer_headers.get("transfer-encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                chunk = await self.reader.readexactly(size + 2)
                if size == 0:
                    break
                data += chunk[:-2]
        else:
            data = await self.reader.read()
            answer_headers["connection"] = "close"
        if answer_headers.get("connection", "").lower() == "close":
            self.close()
        return status, data

    def close(self):
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def _drive(port: int, requests: list[tuple], connections: int, headers: dict):
    """Send every (method, path, body) over ``connections`` keep-alive connections;
    -> ([(status, latency s, body)], wall s)."""
    queue = list(reversed(requests))
    results = []

    async def client():
        conn = Connection(port)
        try:
            while queue:
                method, path, body = queue.pop()
                started = time.perf_counter()
                status, data = await conn.request(method, path, body, headers)
                results.append((status, time.perf_counter() - started, data))
        finally:
            conn.close()

    began = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(min(connections, len(requests)))))
    return results, time.perf_counter() - began


def drive(port, requests, connections, headers):
    return asyncio.run(_drive(port, requests, connections, headers))


# --- the stack ---------------------------------------------------------------------------


@dataclass
class Stack:
    args: argparse.Namespace
    work: Path
    database: str
    web_port: int
    env: dict
    processes: dict[str, Process] = field(default_factory=dict)
    token: str = ""

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    def start(self, name: str, command: list[str], env: dict | None = None) -> Process:
        process = Process(name, command, env or self.env, self.work / f"{name}.log").start()
        self.processes[name] = process
        return process

    def stop(self, name: str) -> None:
        process = self.processes.pop(name, None)
        if process is not None:
            process.stop()

    def stop_all(self) -> None:
        for name in list(self.processes):
            with contextlib.suppress(Exception):
                self.stop(name)

    def worker(self, queues: str, **extra_env) -> str:
        self.stop("worker")
        name = f"load{os.getpid()}-{secrets.token_hex(2)}"
        command = [str(BIN / "celery"), "-A", "energy_site", "worker", "-Q", queues,
                   "-c", str(self.args.celery_concurrency), "--loglevel", "WARNING",
                   "-n", f"{name}@%h"]  # fmt: skip
        process = self.start("worker", command, {**self.env, **extra_env})
        from energy_site.celery import app

        destination = [f"{name}@{socket.gethostname()}"]
        wait_until(lambda: app.control.ping(destination=destination, timeout=0.5), 90,
                   "the Celery worker", processes=[process])  # fmt: skip
        return name

    def api(self, method: str, path: str, payload=None, expect=(200, 201, 202)):
        answer = http_json(method, self.base + path, payload, token=self.token, timeout=60)
        if answer.status not in expect:
            raise SystemExit(f"load: {method} {path} answered {answer.status}: {answer.body[:500]}")
        return answer.json()


def job_states(ids) -> dict[str, str]:
    from django.db import close_old_connections

    from jobs.models import Job

    close_old_connections()
    return {
        str(pk): state for pk, state in Job.objects.filter(pk__in=ids).values_list("pk", "state")
    }


def wait_jobs(ids, timeout: float, what: str) -> float:
    """Poll the database (not the API: no load on the server) until every job finished;
    -> monotonic time at which the last one was seen finished."""
    from jobs.models import Job

    finished = {str(s) for s in Job.FINISHED_STATES}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        states = job_states(ids)
        if len(states) == len(set(ids)) and all(s in finished for s in states.values()):
            failed = {pk: s for pk, s in states.items() if s != "succeeded"}
            if failed:
                raise SystemExit(f"load: {len(failed)} of {what} did not succeed: {failed}")
            return time.monotonic()
        time.sleep(0.1)
    raise SystemExit(f"load: {what} not finished after {timeout} s")


def forecast_items(city: int, end: str, n: int, *, hours: int, step_hours: int, skip: int = 0):
    """n distinct requests: starts every ``step_hours`` going back from a day before the
    end of the data (so each has its week of history and none repeats another)."""
    import pandas as pd

    last = pd.Timestamp(end).tz_convert("UTC").floor("h") - pd.Timedelta(days=1)
    return [
        {
            "city": city,
            "start": (last - pd.Timedelta(hours=step_hours * (i + skip))).isoformat(),
            "horizon_hours": hours,
        }
        for i in range(n)
    ]


# --- phases --------------------------------------------------------------------------------


def wrk(stack: Stack, path: str, extra_headers: dict | None = None) -> dict:
    script = stack.work / "summary.lua"
    script.write_text(WRK_SCRIPT)
    args = stack.args
    headers = {"Authorization": f"Bearer {stack.token}", **(extra_headers or {})}
    command = ["wrk", "-t", "2", "-c", str(args.connections), "-d", f"{args.duration}s",
               "--timeout", "10s", "-s", str(script)]  # fmt: skip
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    command.append(stack.base + path)
    done = subprocess.run(command, capture_output=True, text=True, timeout=args.duration + 60)
    result = parse_wrk(done.stdout)
    if result["non_2xx"] or result["errors"]:
        print(f"   warning: {path}: {result['non_2xx']} non-2xx, {result['errors']} socket errors")
    return result


def wait_supported(stack: Stack, queued_path: str) -> bool:
    """Whether ``GET /jobs/{id}/?wait=N`` holds the request (issue 11, item 3): asked
    of a job that stays queued, a server that has it answers after about N seconds."""
    began = time.monotonic()
    answer = http_json("GET", f"{stack.base}{queued_path}?wait=2", token=stack.token, timeout=30)
    return answer.status == 200 and time.monotonic() - began >= 1.5


def one_client(stack: Stack, city: int, end: str, queued_path: str) -> dict:
    """One client, one request at a time: forecast POST -> job succeeded, by long-poll
    (``?wait=10``) when the server has it, else polling every 50 ms."""
    waits = wait_supported(stack, queued_path)
    items = forecast_items(city, end, stack.args.one_client, hours=24, step_hours=1, skip=1500)
    latencies, polls = [], 0
    for item in items:
        began = time.perf_counter()
        job = stack.api("POST", "/api/v1/forecasts/", item)["job"]
        while job["state"] not in ("succeeded", "failed", "cancelled"):
            if not waits:
                time.sleep(0.05)
            job = stack.api("GET", f"/api/v1/jobs/{job['id']}/" + ("?wait=10" if waits else ""))
            polls += 1
        if job["state"] != "succeeded":
            raise SystemExit(f"load: a forecast job ended {job['state']}: {job.get('error')}")
        latencies.append(time.perf_counter() - began)
    summary = latency_summary(latencies, sum(latencies))
    summary.update(polls_per_job=polls / len(items), long_poll=waits)
    print(f"   one client, POST -> succeeded ({'?wait=10' if waits else 'polling every 50 ms'}): "
          f"p50 {summary['p50']:.0f} ms, p95 {summary['p95']:.0f} ms, "
          f"{summary['polls_per_job']:.1f} GETs per job", flush=True)  # fmt: skip
    return summary


def warm(stack: Stack, path: str, n: int = 20) -> None:
    for _ in range(n):
        stack.api("GET", path)


def in_process(path_requests, token: str, warmup: int = 10) -> dict:
    """Server time and queries per request through Django's test Client (no network)."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_HOST="127.0.0.1")

    def call(item):
        method, path, body = item
        if method == "GET":
            return client.get(path)
        return client.post(path, data=body, content_type="application/json")

    requests = list(path_requests)
    for item in requests[:warmup]:
        call(item)
    measured = requests[warmup:]
    times, queries = [], []
    for i, item in enumerate(measured):
        if i % 5 == 0:  # every fifth request counts queries (the capture costs a little)
            with CaptureQueriesContext(connection) as captured:
                response = call(item)
            queries.append(len(captured))
        else:
            started = time.perf_counter()
            response = call(item)
            times.append((time.perf_counter() - started) * 1000)
        if response.status_code >= 400:
            raise SystemExit(f"load: in-process {item[0]} {item[1]}: {response.status_code}")
    return {
        "server_ms": statistics.fmean(times),
        "server_p50": statistics.median(times),
        "queries": statistics.fmean(queries),
    }


def e2e_pass(stack: Stack, items: list[dict], warmup: list[dict], label: str, **worker_env) -> dict:
    """The forecasts/s of ``items`` on a worker started with ``worker_env``, once it has
    answered ``warmup`` (other requests): sustained throughput, not a cold process's
    first model load and imports, which weigh on the faster pass most. The time runs
    from the first POST to the last job's ``finished_at``, as the database recorded it
    (polling for the end would add up to a poll interval)."""
    stack.worker("inference", **worker_env)
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {stack.token}"}

    def posted(requests_items):
        batches = [requests_items[i : i + 100] for i in range(0, len(requests_items), 100)]
        requests = [("POST", "/api/v1/forecasts/batch/", json.dumps({"items": b}).encode())
                    for b in batches]  # fmt: skip
        results, post_s = drive(stack.web_port, requests, 1, headers)
        ids = []
        for status, _, body in results:
            if status != 202:
                raise SystemExit(f"load: batch POST answered {status}: {body[:300]}")
            ids += [job["id"] for job in json.loads(body)["jobs"]]
        return ids, post_s

    if warmup:
        warm_ids, _ = posted(warmup)
        wait_jobs(warm_ids, 300, f"the {label} pass's warm-up")
    began = time.time()
    ids, post_s = posted(items)
    wait_jobs(ids, 900, f"the {label} pass's {len(ids)} jobs")
    from django.db.models import Max

    from jobs.models import Job

    done = Job.objects.filter(pk__in=ids)
    seconds = done.aggregate(last=Max("finished_at"))["last"].timestamp() - began
    results = done.values_list("result", flat=True)
    fallback = sum(1 for result in results if (result or {}).get("quality") != "normal")
    if fallback:  # the seasonal profile is far cheaper than the model: say so
        print(f"   warning: {fallback} of {len(ids)} runs are not quality 'normal'")
    row = {"runs": len(ids), "post_s": post_s, "seconds": seconds, "runs_per_s": len(ids) / seconds,
           "ids": ids}  # fmt: skip
    print(f"   end to end, {label}: {len(ids)} runs in {seconds:.2f} s "
          f"({row['runs_per_s']:.2f} runs/s; posting took {post_s:.1f} s)", flush=True)  # fmt: skip
    return row


def run(args) -> tuple[dict, dict, dict]:
    work = Path(tempfile.mkdtemp(prefix="ef-load-"))
    (work / "var" / "static").mkdir(parents=True)  # collectstatic's folder: no warning
    database = f"ef_load_{os.getpid()}"
    web_port = args.port
    if not port_is_free(REDIS_PORT) or not port_is_free(web_port):
        raise SystemExit(f"load: port {REDIS_PORT} or {web_port} is taken")
    env = isolated_stack_env(
        database_url=f"{PG}/{database}",
        redis_port=REDIS_PORT,
        work=work,
        DJANGO_DEBUG="0",
        # A load test of one organisation: the per-user and per-organisation limits and the
        # backlog cap would measure the throttle, not the path.
        API_THROTTLE_RATE="10000000/min",
        ORGANIZATION_THROTTLE_RATE="10000000/min",
        FORECAST_MAX_QUEUED_PER_ORG="100000",
        JWT_ACCESS_MINUTES="120",
        GUNICORN_BIND=f"127.0.0.1:{web_port}",
        GUNICORN_WORKERS=str(args.gunicorn_workers),
        GUNICORN_THREADS=str(args.gunicorn_threads),
        **FAST_TRAINING,
    )
    # This process reads the same database and cache (in-process timings, job states).
    for name in [k for k in os.environ if k.startswith(("DATABASE_", "REDIS_", "CACHE_"))]:
        del os.environ[name]
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "energy_site.settings")
    stack = Stack(args, work, database, web_port, env)
    rows: dict[str, dict] = {}
    e2e: dict[str, dict] = {}
    info: dict = {"database": database}
    created = False
    try:
        print(f"load: database {database}, Redis :{REDIS_PORT}, gunicorn :{web_port} "
              f"({args.worker_class}, {args.gunicorn_workers} workers x {args.gunicorn_threads} "
              f"threads), Celery -c {args.celery_concurrency}", flush=True)  # fmt: skip
        subprocess.run(["psql", PG, "-qc", f'CREATE DATABASE "{database}"'], check=True)
        created = True
        redis = stack.start("redis", ["redis-server", "--port", str(REDIS_PORT), "--bind",
                                      "127.0.0.1", "--save", "", "--appendonly", "no",
                                      "--daemonize", "no"])  # fmt: skip
        wait_until(lambda: socket.create_connection(("127.0.0.1", REDIS_PORT)).close() or 1, 20,
                   "redis", processes=[redis])  # fmt: skip
        began = time.monotonic()
        manage = [sys.executable, "manage.py"]
        subprocess.run([*manage, "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
        subprocess.run([*manage, "load_sample", "--weeks", str(args.weeks), "--password", PASSWORD],
                       cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)  # fmt: skip
        info["setup_s"] = time.monotonic() - began
        import django

        django.setup()
        gunicorn = [str(BIN / "gunicorn"), "-c", "deploy/gunicorn.conf.py"]
        if args.worker_class != "default":
            gunicorn += ["-k", args.worker_class]
        web = stack.start("web", [*gunicorn, "energy_site.wsgi"])
        stack.worker("inference,training,optimization")
        wait_until(lambda: http_json("GET", stack.base + "/health/live").status == 200, 60,
                   "gunicorn", processes=[web])  # fmt: skip
        stack.token = stack.api(
            "POST", "/api/v1/auth/token/", {"username": "demo", "password": PASSWORD}
        )["access"]
        city = stack.api("GET", "/api/v1/cities/")["results"][0]
        city_id, end = city["id"], city["data_coverage"]["last"]

        began = time.monotonic()
        train = stack.api("POST", f"/api/v1/cities/{city_id}/train/")["job"]["id"]
        wait_jobs([train], 900, "the training job")
        info["train_s"] = time.monotonic() - began
        print(f"load: set-up {info['setup_s']:.0f} s; training (fast configuration) "
              f"{info['train_s']:.1f} s", flush=True)  # fmt: skip

        # Only the inference queue from now on: an optimization job stays queued.
        stack.worker("inference")
        [first] = forecast_items(city_id, end, 1, hours=24, step_hours=1, skip=2000)
        job_done = stack.api("POST", "/api/v1/forecasts/", first)["job"]["id"]
        wait_jobs([job_done], 120, "the first forecast")
        run_id = stack.api("GET", f"/api/v1/jobs/{job_done}/")["result"]["forecast_run"]
        job_queued = stack.api("POST", "/api/v1/dispatch/", {"forecast_run": run_id})["job"]["id"]
        paths = {
            "floor": "/health/live",
            "run": f"/api/v1/forecast-runs/{run_id}/",
            "job_done": f"/api/v1/jobs/{job_done}/",
            "job_queued": f"/api/v1/jobs/{job_queued}/",
        }
        print(f"load: wrk, 2 threads, {args.connections} connections, {args.duration} s per "
              f"path, {args.rounds} rounds (each round measures the floor and every path)",
              flush=True)  # fmt: skip
        for path in paths.values():
            warm(stack, path)
        etags = {}
        for key, source in (("run_304", "run"), ("job_304", "job_done")):
            # Conditional requests (issue 11, item 2), measured once the server has them.
            answer = http_json("GET", stack.base + paths[source], token=stack.token)
            etag = {k.lower(): v for k, v in answer.headers.items()}.get("etag")
            if etag:
                etags[key] = (paths[source], etag)
            else:
                print(f"   {ROW_LABELS[key]}: skipped (no ETag on {paths[source]})")
        rounds = []
        for number in range(1, args.rounds + 1):
            measured = {key: wrk(stack, path) for key, path in paths.items()}
            for key, (path, etag) in etags.items():
                measured[key] = wrk(stack, path, {"If-None-Match": etag})
            rounds.append(measured)
            floor = measured["floor"]["rps"]
            print(f"   round {number}: " + "; ".join(
                f"{key} {row['rps']:.0f}/s ({row['rps'] / floor:.2f}) p99 {row['p99']:.0f} ms"
                for key, row in measured.items()), flush=True)  # fmt: skip
        rows.update(rounds_merged(rounds))
        if job_states([job_queued]).get(job_queued) != "queued":
            print("   warning: the queued job did not stay queued")
        info["one_client"] = one_client(stack, city_id, end, paths["job_queued"])

        # Writes: the worker is stopped so that they measure the web alone.
        stack.stop("worker")
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {stack.token}"}
        singles = forecast_items(city_id, end, args.posts + 40, hours=6, step_hours=1)
        requests = [("POST", "/api/v1/forecasts/", json.dumps(item).encode())
                    for item in singles]  # fmt: skip
        results, wall = drive(web_port, requests[: args.posts], args.connections, headers)
        bad = [status for status, _, _ in results if status != 202]
        if bad:
            raise SystemExit(f"load: forecast POSTs answered {sorted(set(bad))}")
        rows["post"] = latency_summary([lat for _, lat, _ in results], wall)
        print(f"   {ROW_LABELS['post']}: {rows['post']['rps']:.1f} req/s, "
              f"p99 {rows['post']['p99']:.1f} ms", flush=True)  # fmt: skip
        batch_items = forecast_items(city_id, end, 100 * (args.batches + 6), hours=5, step_hours=1)
        batches = [("POST", "/api/v1/forecasts/batch/",
                    json.dumps({"items": batch_items[i * 100 : (i + 1) * 100]}).encode())
                   for i in range(args.batches + 6)]  # fmt: skip
        results, wall = drive(web_port, batches[: args.batches], 1, headers)
        bad = [status for status, _, _ in results if status != 202]
        if bad:
            raise SystemExit(f"load: batch POSTs answered {sorted(set(bad))}")
        rows["batch"] = latency_summary([lat for _, lat, _ in results], wall)
        print(f"   {ROW_LABELS['batch']}: p50 {rows['batch']['p50']:.1f} ms", flush=True)

        print("load: in-process server time (Django test Client)", flush=True)
        for key, path in paths.items():
            rows[key].update(in_process([("GET", path, None)] * 110, stack.token))
        rows["post"].update(in_process(requests[args.posts :], stack.token, warmup=10))
        rows["batch"].update(in_process(batches[args.batches :], stack.token, warmup=1))
        for key in [k for k in ROW_LABELS if "server_ms" in rows.get(k, {})]:
            print(f"   {ROW_LABELS[key]}: {rows[key]['server_ms']:.2f} ms, "
                  f"{rows[key]['queries']:.1f} queries", flush=True)  # fmt: skip
        _discard_queued_forecasts()

        print(f"load: end to end, {args.e2e} day-ahead requests in batches of 100", flush=True)
        items = forecast_items(city_id, end, args.e2e, hours=24, step_hours=1, skip=300)
        # Warm-ups: other requests (further back), a different set for each pass.
        skip = 300 + args.e2e
        warmups = [forecast_items(city_id, end, E2E_WARMUP, hours=24, step_hours=1, skip=skip + i)
                for i in (0, E2E_WARMUP)]  # fmt: skip
        e2e["batched"] = e2e_pass(stack, items, warmups[0], "default FORECAST_BATCH_SIZE")
        from jobs.models import Job

        # The same requests again: take the first pass's jobs out of request reuse.
        Job.objects.filter(pk__in=e2e["batched"]["ids"]).update(request_key="")
        e2e["single"] = e2e_pass(
            stack, items, warmups[1], "FORECAST_BATCH_SIZE=1", FORECAST_BATCH_SIZE="1"
        )
        if set(e2e["single"]["ids"]) & set(e2e["batched"]["ids"]):
            raise SystemExit("load: the second pass reused jobs of the first")
    finally:
        stack.stop_all()
        with contextlib.suppress(Exception):
            from django.db import connections

            connections.close_all()
        if created:
            subprocess.run(
                ["psql", PG, "-qc", f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)']
            )
        if args.keep_logs:
            print(f"load: logs kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return rows, e2e, info


def _discard_queued_forecasts() -> None:
    """The write measurements' jobs are not wanted: cancel them and drop their messages
    (our own Redis), so the end-to-end passes start from an empty queue."""
    from django.utils import timezone

    from energy_site.celery import app
    from jobs.models import Job

    Job.objects.filter(kind="forecast", state="queued").update(
        state="cancelled", finished_at=timezone.now()
    )
    with app.connection_for_write() as conn:
        conn.default_channel.queue_purge("inference")


# Requests each end-to-end pass answers before it is timed (a worker's first batch loads
# its model and warms its imports).
E2E_WARMUP = 32
FULL = {"rounds": 3, "duration": 5, "posts": 300, "batches": 5, "e2e": 300, "one_client": 10}
QUICK = {"rounds": 1, "duration": 3, "posts": 100, "batches": 2, "e2e": 100, "one_client": 5}


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    # The sizes default to FULL, or to QUICK with --quick; a flag given wins over both.
    parser.add_argument("--duration", type=int, help="seconds of wrk per GET path and round (5)")
    parser.add_argument("--rounds", type=int, help="rounds of the GET measurements (3)")
    parser.add_argument("--connections", type=int, default=16, help="wrk and POST connections")
    parser.add_argument("--posts", type=int, help="single forecast POSTs (300)")
    parser.add_argument("--batches", type=int, help="batch POSTs of 100 items (5)")
    parser.add_argument("--e2e", type=int, help="end-to-end forecast requests (300)")
    parser.add_argument("--one-client", type=int,
                        help="forecasts awaited one at a time by one client (10)")  # fmt: skip
    parser.add_argument("--weeks", type=int, default=16, help="weeks of the sample to load")
    # Four on this 2-core host: a keep-alive connection stays with the worker that accepted
    # it, and with two workers wrk's 16 split 5/11 or 12/4 (ss -tnp), one process's GIL
    # serving most of them; docs/benchmarks.md, "Process settings".
    parser.add_argument("--gunicorn-workers", type=int, default=4)
    parser.add_argument("--gunicorn-threads", type=int, default=32)
    parser.add_argument(
        "--worker-class",
        default="default",
        help="gunicorn -k (sync, gthread, ...); default: deploy/gunicorn.conf.py's. gunicorn "
        "runs sync with more than one thread as gthread: give --gunicorn-threads 1",
    )
    parser.add_argument("--celery-concurrency", type=int, default=2)
    parser.add_argument("--port", type=int, default=8429, help="gunicorn's port")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="3 s per GET, 100 posts, 2 batches, 100 end-to-end requests",
    )
    parser.add_argument("--strict", action="store_true", help="exit 1 if a target is missed")
    parser.add_argument("--keep-logs", action="store_true")
    args = parser.parse_args(argv)
    for name, value in (QUICK if args.quick else FULL).items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    began = time.monotonic()

    def interrupted(signum, frame):
        raise KeyboardInterrupt  # the finally of run() stops our processes

    signal.signal(signal.SIGTERM, interrupted)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started with it ignored
    try:
        rows, e2e, info = run(args)
    except KeyboardInterrupt:
        print("load: interrupted; our processes are stopped and the database dropped")
        return 130
    print()
    print(format_table(rows))
    print()
    for key, label in (
        ("batched", "default FORECAST_BATCH_SIZE"),
        ("single", "FORECAST_BATCH_SIZE=1"),
    ):
        row = e2e[key]
        print(f"end to end, {label}: {row['runs']} day-ahead runs in {row['seconds']:.1f} s = "
              f"{row['runs_per_s']:.2f} runs/s (posting {row['post_s']:.1f} s)")  # fmt: skip
    one = info["one_client"]
    print(f"one client, forecast POST -> job succeeded, {one['requests']} in a row "
          f"({'?wait=10' if one['long_poll'] else 'polling every 50 ms; no ?wait= yet'}): "
          f"p50 {one['p50']:.0f} ms, p95 {one['p95']:.0f} ms, "
          f"{one['polls_per_job']:.1f} GETs per job")  # fmt: skip
    print(f"training once (fast configuration): {info['train_s']:.1f} s")
    print()
    targets = targets_for(rows, e2e)
    print(format_targets(targets))
    missed = [t.name for t in targets if not t.met]
    print(f"\nload: {time.monotonic() - began:.0f} s; {len(targets) - len(missed)} of "
          f"{len(targets)} targets met")  # fmt: skip
    return 1 if (args.strict and missed) else 0


if __name__ == "__main__":
    sys.exit(main())
