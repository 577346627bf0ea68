"""The production stack on loopback, started once for tests/deploy/.

Its own PostgreSQL database on the shared server (created and dropped here), its own
Redis (a child redis-server with a password), two web replicas (gunicorn, two sync
workers each, Prometheus multiprocess mode, started with explicit flags), one Celery
worker (prefork, every queue, its metrics exporter on), the state exporter, and
Debian's nginx with deploy/nginx/ in front of the web replicas. Every secret is a fresh
random value, so the log tests can look for each one. A client then drives a day of
work through nginx: upload, train, forecast, dispatch.

Ports (the task's ranges): Redis 6400, web 8201-8202, nginx 8210-8211, worker metrics
8220, exporter 8221, a silent upstream 8230, a dead one 8231.
"""

from __future__ import annotations

import gzip
import json
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import dj_database_url
import psycopg2
import pytest

from tests.conftest import tool_or_skip
from tests.deploy.processes import (
    ROOT,
    Process,
    http,
    http_json,
    port_is_free,
    wait_until,
)

REDIS_PORT = 6400
WEB_PORTS = (8201, 8202)
NGINX_PORT, NGINX_ERRORS_PORT = 8210, 8211
WORKER_METRICS_PORT, EXPORTER_PORT = 8220, 8221
SILENT_PORT, DEAD_PORT = 8230, 8231
NGINX_DIR = ROOT / "deploy" / "nginx"
FORECAST_START = "2014-12-30T00:00:00+11:00"


@dataclass
class Stack:
    base: str  # nginx
    web: list[str]
    worker_metrics: str
    exporter: str
    secrets: dict[str, str]
    processes: dict[str, Process]
    folder: Path
    database: str
    multiproc: dict[str, Path]
    token: str = ""
    city: dict = field(default_factory=dict)
    jobs: dict[str, dict] = field(default_factory=dict)
    request_ids: dict[str, str] = field(default_factory=dict)

    def logs(self) -> dict[str, str]:
        found = {name: process.output() for name, process in self.processes.items()}
        for path in (self.folder / "logs").glob("*.log"):
            found.setdefault(path.stem, path.read_text(errors="replace"))
        return found


def nginx_config(folder: Path, static_root: Path) -> Path:
    """deploy/nginx/ as shipped, with this machine's upstreams, ports and folders; plus a
    second server (port NGINX_ERRORS_PORT) with the shipped error pages in front of a dead
    and a silent upstream, for the 502 and 504 pages."""
    site = (NGINX_DIR / "energy-forecast.conf").read_text()
    upstreams = "\n    ".join(
        f"server 127.0.0.1:{port} max_fails=3 fail_timeout=10s;" for port in WEB_PORTS
    )
    replacements = {
        "server web:8000 max_fails=3 fail_timeout=10s;  # @upstream-servers": upstreams,
        "listen 80;  # @listen": f"listen 127.0.0.1:{NGINX_PORT};",
        "alias /srv/static/;  # @static-root": f"alias {static_root}/;",
        "access_log /dev/stdout ef_json;  # @access-log": (
            f"access_log {folder}/access.log ef_json;"
        ),
        "include /etc/nginx/energy-forecast/json-errors.conf;  # @include-errors": (
            f"include {NGINX_DIR}/json-errors.conf;"
        ),
    }
    for mark, value in replacements.items():
        assert mark in site, f"deploy/nginx/energy-forecast.conf lost its mark {mark!r}"
        site = site.replace(mark, value)
    (folder / "site.conf").write_text(site)
    (folder / "errors-site.conf").write_text(
        f"""
upstream ef_dead {{ server 127.0.0.1:{DEAD_PORT}; }}
upstream ef_silent {{ server 127.0.0.1:{SILENT_PORT}; }}
server {{
    listen 127.0.0.1:{NGINX_ERRORS_PORT};
    access_log {folder}/errors-access.log;
    proxy_read_timeout 1s;
    location /dead/ {{ proxy_pass http://ef_dead; }}
    location /silent/ {{ proxy_pass http://ef_silent; }}
    include {NGINX_DIR}/json-errors.conf;
}}
"""
    )
    temp = folder / "temp"
    temp.mkdir()
    main = folder / "nginx.conf"
    main.write_text(
        f"""
user root;
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 512; }}
http {{
    include /etc/nginx/mime.types;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    include {folder}/site.conf;
    include {folder}/errors-site.conf;
}}
"""
    )
    return main


def _silent_upstream(stop: threading.Event) -> None:
    """Accepts connections and never answers: nginx's 504."""
    with socket.socket() as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", SILENT_PORT))
        server.listen(16)
        server.settimeout(0.2)
        held = []
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except TimeoutError:
                continue
        for conn in held:
            conn.close()


def _admin_connection():
    url = dj_database_url.parse(os.environ["DATABASE_URL"])
    conn = psycopg2.connect(
        dbname="postgres", user=url["USER"] or "postgres", host=url["HOST"], port=url["PORT"]
    )
    conn.autocommit = True
    return conn, url


def _manage(env: dict, *args: str, timeout: float = 120) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, f"manage.py {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _wait_job(stack: Stack, job: dict, timeout: float = 90) -> dict:
    def finished():
        answer = http_json("GET", f"{stack.base}/api/v1/jobs/{job['id']}/", token=stack.token)
        body = answer.json()
        return body if body["state"] in ("succeeded", "failed", "cancelled") else None

    done = wait_until(
        finished, timeout, f"job {job['kind']}", interval=0.3, processes=[stack.processes["worker"]]
    )
    assert done["state"] == "succeeded", done
    return done


def _workload(stack: Stack, password: str) -> None:
    """A client's day, through nginx: token, upload, train, forecast, dispatch."""
    answer = http_json(
        "POST", f"{stack.base}/api/v1/auth/token/", {"username": "demo", "password": password}
    )
    assert answer.status == 200, answer.body
    stack.token = answer.json()["access"]
    stack.secrets["access_token"] = stack.token
    stack.city = http_json("GET", f"{stack.base}/api/v1/cities/", token=stack.token).json()[
        "results"
    ][0]
    city_id = stack.city["id"]

    # An upload (a week already stored: the upsert changes nothing), gzipped CSV.
    from cities.sample_data import sample_frame

    week = sample_frame().loc["2014-12-01":"2014-12-07"][["demand_mw", "temperature_c"]]
    week.index = week.index.tz_convert("Australia/Melbourne").tz_localize(None)
    csv = week.rename_axis("timestamp").to_csv().encode()
    for kind, path, body, content_type in (
        (
            "ingest",
            f"/api/v1/cities/{city_id}/observations/",
            gzip.compress(csv),
            "application/gzip",
        ),
        ("train", f"/api/v1/cities/{city_id}/train/", b"", "application/json"),
        (
            "forecast",
            "/api/v1/forecasts/",
            json.dumps(
                {
                    "city": city_id,
                    "start": FORECAST_START,
                    "horizon_hours": 24,
                    "quantiles": [0.05, 0.5, 0.95],
                }
            ).encode(),
            "application/json",
        ),
    ):
        request_id = f"req-{kind}-{secrets.token_hex(4)}"
        headers = {
            "Authorization": f"Bearer {stack.token}",
            "Content-Type": content_type,
            "X-Request-ID": request_id,
        }
        answer = http("POST", stack.base + path, body=body, headers=headers)
        assert answer.status == 202, (kind, answer.status, answer.body[:500])
        stack.request_ids[kind] = request_id
        stack.jobs[kind] = _wait_job(stack, answer.json()["job"])
    run_id = stack.jobs["forecast"]["result"]["forecast_run"]
    request_id = f"req-optimize-{secrets.token_hex(4)}"
    answer = http_json(
        "POST",
        f"{stack.base}/api/v1/dispatch/",
        {"forecast_run": run_id, "mode": "reserve"},
        token=stack.token,
        headers={"X-Request-ID": request_id},
    )
    assert answer.status == 202, answer.body
    stack.request_ids["optimize"] = request_id
    stack.jobs["optimize"] = _wait_job(stack, answer.json()["job"])

    # The forecast day's actuals arrive: the active model's live accuracy is scored
    # (forecasts/live_accuracy.py), which the exporter reports next to its backtest.
    day = sample_frame().loc["2014-12-29 13:00":"2014-12-30 12:30"][["demand_mw"]]
    day.index = day.index.tz_convert("Australia/Melbourne").tz_localize(None)
    answer = http(
        "POST",
        f"{stack.base}/api/v1/cities/{city_id}/observations/",
        body=day.rename_axis("timestamp").to_csv().encode(),
        headers={"Authorization": f"Bearer {stack.token}", "Content-Type": "text/csv"},
    )
    assert answer.status == 202, answer.body[:500]
    stack.jobs["actuals"] = _wait_job(stack, answer.json()["job"])


@pytest.fixture(scope="package")
def stack(tmp_path_factory):
    from django.conf import settings

    if settings.USING_EMBEDDED_DEFAULTS or not settings.REDIS_URL:
        pytest.skip("needs DATABASE_URL and REDIS_URL (real servers)")
    nginx = tool_or_skip("nginx")
    redis_server = tool_or_skip("redis-server")
    busy = [
        port
        for port in (REDIS_PORT, *WEB_PORTS, NGINX_PORT, NGINX_ERRORS_PORT)
        + (WORKER_METRICS_PORT, EXPORTER_PORT, SILENT_PORT, DEAD_PORT)
        if not port_is_free(port)
    ]
    assert not busy, f"ports of this test are in use: {busy}"

    folder = tmp_path_factory.mktemp("stack")
    (folder / "logs").mkdir()
    admin, url = _admin_connection()
    database = f"{url['NAME']}_stack"
    secret = {
        "db_password": "dbpw-" + secrets.token_hex(8),
        "redis_password": "redispw-" + secrets.token_hex(8),
        "django_secret_key": "key-" + secrets.token_urlsafe(40),
        "metrics_token": "metrics-" + secrets.token_hex(8),
        "user_password": "userpw-" + secrets.token_hex(8),
    }
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{database}"')
    host = url["HOST"] or "127.0.0.1"
    port = url["PORT"] or 5432
    redis_url = f"redis://:{secret['redis_password']}@127.0.0.1:{REDIS_PORT}"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("PROMETHEUS", "PG"))},
        # The server trusts loopback, so the password is never checked; it is here so
        # that the log tests can prove it is never written.
        "DATABASE_URL": f"postgres://{url['USER'] or 'postgres'}:{secret['db_password']}"
        f"@{host}:{port}/{database}",
        "REDIS_URL": f"{redis_url}/0",
        "CACHE_URL": f"{redis_url}/1",
        "DJANGO_SECRET_KEY": secret["django_secret_key"],
        "METRICS_BEARER_TOKEN": secret["metrics_token"],
        "DJANGO_SETTINGS_MODULE": "energy_site.settings",
        "ENERGY_VAR_DIR": str(folder / "var"),
        "MEDIA_ROOT": str(folder / "media"),
        "STATIC_ROOT": str(folder / "static"),
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "INFO",
        "PYTHONUNBUFFERED": "1",
        "TRAINING_FAMILIES": "seasonal-naive",
        "TRAINING_BACKTEST_DAYS": "7",
        "TRAINING_CALIBRATION_DAYS": "7",
        "TRAINING_REFIT_DAYS": "7",
        "FORECAST_BATCH_WAIT_SECONDS": "0.1",
        # As in production behind nginx: the application believes nginx's
        # X-Forwarded-For, so its per-address limits see each client. The sign-in
        # lockout (tested in tests/test_throttles.py) stays out of nginx's rate test.
        "TRUSTED_PROXY_NETWORKS": "127.0.0.0/8",
        "LOGIN_FAILURE_LIMIT": "1000",
    }
    processes: dict[str, Process] = {}
    stop_silent = threading.Event()
    silent = threading.Thread(target=_silent_upstream, args=(stop_silent,), daemon=True)
    multiproc = {}
    try:
        processes["redis"] = Process(
            "redis",
            [
                redis_server,
                "--port",
                str(REDIS_PORT),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
                "--requirepass",
                secret["redis_password"],
            ],  # fmt: skip
            env,
            folder / "logs" / "redis.log",
        ).start()
        # Schema, the demo organisation (user demo) with Melbourne's 2014 and its fleet,
        # and the static files nginx serves.
        _manage(env, "migrate", "--verbosity", "0")
        _manage(env, "load_sample", "--password", secret["user_password"])
        _manage(env, "collectstatic", "--noinput", "--verbosity", "0")

        bin_dir = Path(sys.executable).parent
        for index, web_port in enumerate(WEB_PORTS):
            multiproc[f"web{index}"] = folder / f"metrics-web{index}"
            processes[f"web{index}"] = Process(
                f"web{index}",
                [
                    str(bin_dir / "gunicorn"),
                    "energy_site.wsgi",
                    # Sync workers with the metrics hooks only, not deploy/gunicorn.conf.py:
                    # the slow-client test shows what nginx spares the weakest backend.
                    "-c",
                    "deploy/gunicorn_metrics.py",
                    "--bind",
                    f"127.0.0.1:{web_port}",
                    "--workers",
                    "2",
                    "--timeout",
                    "30",
                    "--no-control-socket",
                    "--access-logfile",
                    str(folder / "logs" / f"web{index}-access.log"),
                ],  # fmt: skip
                {**env, "PROMETHEUS_MULTIPROC_DIR": str(multiproc[f"web{index}"])},
                folder / "logs" / f"web{index}.out",
            ).start()
        multiproc["worker"] = folder / "metrics-worker"
        multiproc["worker"].mkdir()
        processes["worker"] = Process(
            "worker",
            [
                str(bin_dir / "celery"),
                "-A",
                "energy_site",
                "--quiet",
                "worker",
                "-Q",
                "inference,training,optimization",
                "--concurrency",
                "2",
                "--hostname",
                "stack@%h",
            ],  # fmt: skip
            {
                **env,
                "PROMETHEUS_MULTIPROC_DIR": str(multiproc["worker"]),
                "WORKER_METRICS_PORT": str(WORKER_METRICS_PORT),
            },
            folder / "logs" / "worker.out",
        ).start()
        processes["exporter"] = Process(
            "exporter",
            [sys.executable, "manage.py", "metrics_exporter", "--port", str(EXPORTER_PORT)],
            env,
            folder / "logs" / "exporter.out",
        ).start()
        nginx_folder = folder / "nginx"
        nginx_folder.mkdir()
        main = nginx_config(nginx_folder, folder / "static")
        checked = subprocess.run(
            [nginx, "-t", "-c", str(main), "-p", str(nginx_folder)],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert checked.returncode == 0, checked.stderr
        silent.start()
        processes["nginx"] = Process(
            "nginx",
            [nginx, "-c", str(main), "-p", str(nginx_folder), "-g", "daemon off;"],
            env,
            folder / "logs" / "nginx.out",
        ).start()

        stack = Stack(
            base=f"http://127.0.0.1:{NGINX_PORT}",
            web=[f"http://127.0.0.1:{p}" for p in WEB_PORTS],
            worker_metrics=f"http://127.0.0.1:{WORKER_METRICS_PORT}/metrics",
            exporter=f"http://127.0.0.1:{EXPORTER_PORT}/metrics",
            secrets=secret,
            processes=processes,
            folder=folder,
            database=database,
            multiproc=multiproc,
        )
        everyone = list(processes.values())
        for web in stack.web:
            wait_until(
                lambda web=web: http("GET", f"{web}/health/live", timeout=5).status == 200,
                60,
                f"{web}",
                processes=everyone,
            )
        wait_until(
            lambda: http("GET", stack.worker_metrics, timeout=5).status == 200,
            60,
            "the worker's metrics",
            processes=everyone,
        )
        wait_until(
            lambda: http("GET", stack.exporter, timeout=10).status == 200,
            60,
            "the exporter",
            processes=everyone,
        )
        started = time.monotonic()
        _workload(stack, secret["user_password"])
        stack.workload_seconds = time.monotonic() - started
        yield stack
    finally:
        stop_silent.set()
        for process in reversed(list(processes.values())):
            process.stop()
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        admin.close()
