"""`make demo`: the whole job once, end to end, on embedded defaults.

Starts a real web server (gunicorn) and a real Celery worker (filesystem broker,
SQLite), then drives the public API like a client would: load the Victoria 2014
sample, train, forecast the day after the sample, dispatch it, print a summary and
write an HTML report. Nothing is faked: every number printed comes from this run.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta
from pathlib import Path

from demo.report import write_report

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var" / "demo"
REPORT = ROOT / "demo-report.html"
PASSWORD = "demo"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Client:
    def __init__(self, base: str):
        self.base = base
        self.token = ""

    def call(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"{}")

    def ok(self, method: str, path: str, body: dict | None = None, expect=(200, 201, 202)):
        code, payload = self.call(method, path, body)
        if code not in expect:
            raise SystemExit(f"demo: {method} {path} answered {code}: {payload}")
        return payload

    def wait_job(self, job: dict, label: str, timeout: float = 900) -> dict:
        deadline, shown = time.monotonic() + timeout, -1
        while time.monotonic() < deadline:
            job = self.ok("GET", f"/api/v1/jobs/{job['id']}/")
            if job["progress"] != shown:
                shown = job["progress"]
                print(f"  {label}: {job['state']:<9} {shown:3d} %", flush=True)
            if job["state"] == "succeeded":
                return job
            if job["state"] in ("failed", "cancelled"):
                raise SystemExit(f"demo: {label} job {job['state']}: {job['error']}")
            time.sleep(0.5)
        raise SystemExit(f"demo: {label} job did not finish within {timeout:.0f} s")


def manage(env: dict, *args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True)


def wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=10)
            return
        except (urllib.error.URLError, OSError):  # not listening yet, or still booting
            time.sleep(0.3)
    raise SystemExit(f"demo: the web server did not answer at {url}")


def main() -> int:
    began = time.monotonic()
    shutil.rmtree(VAR, ignore_errors=True)
    env = {
        k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "CACHE_URL")
    }
    env.update(
        ENERGY_VAR_DIR=str(VAR),
        DJANGO_SETTINGS_MODULE="energy_site.settings",
        # Every process of the demo shares one throwaway key (settings refuse to start
        # without a key unless DJANGO_DEBUG is on).
        DJANGO_SECRET_KEY=env.get("DJANGO_SECRET_KEY") or secrets.token_urlsafe(50),
        LOG_FORMAT="console",
        LOG_LEVEL=env.get("LOG_LEVEL", "WARNING"),
        PYTHONUNBUFFERED="1",
    )
    # A shorter backtest than production's 28 + 28 days keeps the demo near a minute
    # of training; every model family still runs through the same protocol.
    env.setdefault("TRAINING_BACKTEST_DAYS", "14")
    env.setdefault("TRAINING_CALIBRATION_DAYS", "14")
    print("== energy-forecast demo: embedded defaults (SQLite, filesystem broker, local cache)")
    print("== 1/6 database and sample data (Victoria, Australia, 2014; fpp2::elecdemand)")
    manage(env, "migrate", "--verbosity", "0")
    # The admin's CSS and Swagger UI (/api/docs/) are static files the web server serves
    # from STATIC_ROOT only once collected.
    manage(env, "collectstatic", "--noinput", "--verbosity", "0")
    manage(env, "load_sample", "--password", PASSWORD)

    port = free_port()
    bin_dir = Path(sys.executable).parent
    processes = [
        subprocess.Popen(
            [
                str(bin_dir / "gunicorn"),
                "energy_site.wsgi",
                "-c",
                "deploy/gunicorn.conf.py",  # the production settings, on a local port
                "-b",
                f"127.0.0.1:{port}",
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=env,
        ),
        subprocess.Popen(
            [
                str(bin_dir / "celery"),
                "-A",
                "energy_site",
                "--quiet",  # no banner: the demo prints its own summary
                "worker",
                "--loglevel",
                "WARNING",
                "-Q",
                "inference,training,optimization",
                "--concurrency",
                "2",
                "--hostname",
                "demo@%h",
            ],
            cwd=ROOT,
            env=env,
        ),
    ]
    try:
        print(f"== 2/6 web server (gunicorn, port {port}) and Celery worker started")
        wait_http(f"http://127.0.0.1:{port}/health/live")
        api = Client(f"http://127.0.0.1:{port}")
        api.token = api.ok(
            "POST", "/api/v1/auth/token/", {"username": "demo", "password": PASSWORD}
        )["access"]
        city = api.ok("GET", "/api/v1/cities/")["results"][0]
        print(f"   city: {city['name']} ({city['data_coverage']['observations']} observations)")

        print("== 3/6 training (every model family backtested, rolling origin; best one kept)")
        job = api.ok("POST", f"/api/v1/cities/{city['id']}/train/")["job"]
        job = api.wait_job(job, "train")
        model = api.ok("GET", f"/api/v1/models/{job['result']['model_version']}/")

        print("== 4/6 day-ahead forecast for the 24 hours after the sample ends")
        start = api.ok("GET", f"/api/v1/cities/{city['id']}/")["data_coverage"]["last"]
        start_ts = _next_interval(start, city["resolution_minutes"])
        job = api.ok(
            "POST",
            "/api/v1/forecasts/",
            {"city": city["id"], "start": start_ts, "horizon_hours": 24},
        )["job"]
        job = api.wait_job(job, "forecast")
        run = api.ok("GET", f"/api/v1/forecast-runs/{job['result']['forecast_run']}/")

        print("== 5/6 dispatch (linear programme, HiGHS; reserve q95 - q50 held upward)")
        job = api.ok("POST", "/api/v1/dispatch/", {"forecast_run": run["id"], "mode": "reserve"})[
            "job"
        ]
        job = api.wait_job(job, "dispatch")
        dispatch = api.ok("GET", f"/api/v1/dispatch/{job['result']['dispatch']}/")
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()

    print("== 6/6 results")
    print_summary(model, run, dispatch)
    write_report(
        REPORT,
        city=city,
        model=model,
        run=run,
        dispatch=dispatch,
        energy=energy_by_source(dispatch, run),
    )
    print(f"\nHTML report: {REPORT}")
    print(f"demo finished in {time.monotonic() - began:.0f} s")
    return 0


def _next_interval(last_iso: str, resolution_minutes: int) -> str:
    last = datetime.fromisoformat(last_iso.replace("Z", "+00:00"))
    return (last + timedelta(minutes=resolution_minutes)).isoformat()


def print_summary(model: dict, run: dict, dispatch: dict) -> None:
    backtest = model["metrics"]
    window = backtest.get("window", {})
    print(
        f"\nBacktest (rolling origin, day-ahead, {window.get('days')} days "
        f"{str(window.get('start'))[:10]} .. {str(window.get('end'))[:10]}):"
    )
    print(f"  {'method':<28}{'MAPE %':>8}{'RMSE MW':>10}{'pinball MW':>12}{'90% cover':>11}")
    selected = backtest.get("model", {}).get("candidate", "model")
    for label, key in (
        (f"selected: {selected}", "model"),
        ("seasonal naive (1 week)", "seasonal_naive"),
    ):
        m = backtest.get(key, {})
        print(
            f"  {label:<28}{m.get('mape', float('nan')):>8.2f}{m.get('rmse', float('nan')):>10.1f}"
            f"{m.get('pinball', float('nan')):>12.1f}{m.get('coverage_90', float('nan')):>10.1f}%"
        )
    print(f"\nForecast run {run['id']} ({run['method']}, quality {run['quality']}), first 6 hours:")
    print(f"  {'timestamp (UTC)':<27}{'lower':>9}{'median':>9}{'upper':>9}  MW")
    for point in run["points"][:12]:
        print(
            f"  {point['timestamp']:<27}{point['confidence_lower']:>9.0f}"
            f"{point['demand']:>9.0f}{point['confidence_upper']:>9.0f}"
        )
    totals = dispatch["totals"]
    print(
        f"\nDispatch {dispatch['id']} ({dispatch['mode']} mode, {dispatch['status']}, solver "
        f"{dispatch.get('solver')} {dispatch.get('solver_version')}, solve "
        f"{1000 * (dispatch.get('solve_seconds') or 0):.1f} ms, build "
        f"{1000 * (dispatch.get('build_seconds') or 0):.1f} ms):"
    )
    labels = {
        "demand_mwh": "demand MWh",
        "cost": "cost",
        "co2_t": "CO2 t",
        "renewable_share": "renewable share",
        "curtailment_mwh": "curtailed MWh",
        "unserved_mwh": "unserved MWh",
    }
    for key, label in labels.items():
        print(f"  {label:<18}{totals[key]:>14,.2f}")
    kpis = dispatch.get("kpis") or {}
    print(
        f"  {'reserve MWh':<18}{kpis.get('reserve_required_mwh', 0):>14,.2f}"
        f"  (short by {kpis.get('reserve_shortfall_mwh', 0):,.2f})"
    )
    for item in dispatch.get("shortfalls") or []:
        print(
            f"  shortfall {item['constraint']}: target {item['target']:,.4g}, "
            f"achieved {item['achieved']:,.4g}, short by {item['shortfall']:,.4g} {item['unit']}"
        )
    basis = ", ".join(f"{k}: {v}" for k, v in (dispatch.get("availability_basis") or {}).items())
    print(f"  availability from: {basis}")
    print("  energy by source (MWh):")
    for name, mwh in energy_by_source(dispatch, run).items():
        print(f"    {name:<28}{mwh:>12,.1f}")


def energy_by_source(dispatch: dict, run: dict) -> dict[str, float]:
    """MWh per source over the plan, from its per-interval MW (storage: net discharge)."""
    if len(run["points"]) < 2:
        return {}
    first, second = (datetime.fromisoformat(p["timestamp"]) for p in run["points"][:2])
    hours = (second - first).total_seconds() / 3600
    energy: dict[str, float] = {}
    for interval in dispatch["intervals"]:
        for name, mw in interval["allocation"].items():
            energy[name] = energy.get(name, 0.0) + mw * hours
        for name, flows in interval["storage"].items():
            net = (flows["discharge"] or 0.0) - (flows["charge"] or 0.0)
            energy[name] = energy.get(name, 0.0) + net * hours
    return dict(sorted(energy.items(), key=lambda item: -item[1]))
