"""Metrics that add up: the web's counters across gunicorn processes, the worker's own
metrics from its exporter, the service-wide figures from the state exporter, and every
metric that deploy/prometheus/alerts.yml and the Grafana dashboard read, found in a real
scrape."""

import json
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg2
import pytest
import yaml

from tests.deploy.processes import ROOT, http, metric_names, metric_sum, scrape

pytestmark = pytest.mark.needs_server

LIVE_COUNTER = "django_http_requests_total_by_view_transport_method_total"
# Series Prometheus makes itself.
PROMETHEUS_OWN = {"up"}


def test_web_counters_add_up_across_gunicorn_processes(stack):
    web, token = stack.web[0], stack.secrets["metrics_token"]
    seen = []
    for _ in range(4):
        seen.append(metric_sum(scrape(f"{web}/metrics", token), LIVE_COUNTER, view="health-live"))
        with ThreadPoolExecutor(6) as pool:
            statuses = list(pool.map(lambda _: http("GET", f"{web}/health/live").status, range(30)))
        assert statuses == [200] * 30
    seen.append(metric_sum(scrape(f"{web}/metrics", token), LIVE_COUNTER, view="health-live"))
    # Every scrape reads the sum of both workers: exactly 30 more each time, never less.
    assert [b - a for a, b in zip(seen, seen[1:], strict=False)] == [30.0] * 4, seen
    pids = {
        re.search(r"_(\d+)\.db$", p.name).group(1)
        for p in stack.multiproc["web0"].glob("counter_*.db")
    }
    assert len(pids) >= 2, f"only one gunicorn worker answered: {pids}"


def test_the_worker_exports_its_metrics(stack):
    samples = scrape(stack.worker_metrics)
    assert metric_sum(samples, "energy_forecast_batch_size_count") >= 1
    assert metric_sum(samples, "energy_forecast_queue_wait_seconds_count") >= 1
    assert metric_sum(samples, "energy_forecast_inference_seconds_count") >= 1
    assert metric_sum(samples, "energy_forecast_training_seconds_count") >= 1
    assert (
        metric_sum(samples, "energy_forecast_dispatch_solve_seconds_count", status="optimal") >= 1
    )
    for kind in ("ingest", "train", "forecast", "optimize"):
        assert (
            metric_sum(samples, "energy_forecast_jobs_finished_total", kind=kind, state="succeeded")
            >= 1
        ), kind
    # The pool processes recorded them; the main process serves the sum.
    main = stack.processes["worker"].popen.pid
    writers = {
        int(re.search(r"_(\d+)\.db$", path.name).group(1))
        for path in stack.multiproc["worker"].glob("histogram_*.db")
    }
    assert writers - {main}, writers


def test_the_exporter_reports_queues_freshness_and_dependencies(stack):
    samples = scrape(stack.exporter)
    for dependency in ("database", "broker", "cache"):
        assert samples[f'energy_forecast_dependency_up{{dependency="{dependency}"}}'] == 1.0
    for queue in ("inference", "training", "optimization"):
        assert f'energy_forecast_queue_messages{{queue="{queue}"}}' in samples
        assert samples[f'energy_forecast_queue_oldest_job_age_seconds{{queue="{queue}"}}'] == 0.0
    age_key = next(k for k in samples if k.startswith("energy_forecast_forecast_age_seconds{"))
    assert 'city="Melbourne"' in age_key and 'organization="demo"' in age_key
    assert 0 <= samples[age_key] < 600

    # A training job queued ten minutes ago whose message never reached a worker.
    conn = psycopg2.connect(dbname=stack.database, host="127.0.0.1", user="postgres")
    try:
        with conn, conn.cursor() as cursor:
            cursor.execute(
                "INSERT INTO forecasts_job (id, organization_id, kind, params, state, progress,"
                " attempts, celery_task_id, request_key, idempotency_key, request_id, worker,"
                " created_at) SELECT gen_random_uuid(), id, 'train', '{}', 'queued', 0, 0,"
                " '', '', '', '', '', now() - interval '10 minutes'"
                " FROM forecasts_organization WHERE slug = 'demo' RETURNING id"
            )
            job_id = cursor.fetchone()[0]
        samples = scrape(stack.exporter)
        assert samples['energy_forecast_queue_jobs{queue="training"}'] == 1.0
        assert (
            600 <= samples['energy_forecast_queue_oldest_job_age_seconds{queue="training"}'] < 700
        )
        assert samples['energy_forecast_queue_oldest_job_age_seconds{queue="inference"}'] == 0.0
        with conn, conn.cursor() as cursor:
            cursor.execute("DELETE FROM forecasts_job WHERE id = %s", [job_id])
    finally:
        conn.close()


def _names_in(expression: str) -> set[str]:
    """Metric names an expression reads (identifiers that are not PromQL words)."""
    words = set(re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", re.sub(r'"[^"]*"', "", expression)))
    return {w for w in words if w.startswith(("energy_forecast_", "django_")) or w == "up"}


def expressions_in_use() -> dict[str, set[str]]:
    found = {}
    alerts = yaml.safe_load((ROOT / "deploy/prometheus/alerts.yml").read_text())
    for group in alerts["groups"]:
        for rule in group["rules"]:
            found[f"alert {rule['alert']}"] = _names_in(rule["expr"])
    for path in (ROOT / "deploy/grafana/dashboards").glob("*.json"):
        for panel in json.loads(Path(path).read_text())["panels"]:
            for target in panel.get("targets", []):
                found[f"panel {panel['title']}"] = found.get(
                    f"panel {panel['title']}", set()
                ) | _names_in(target["expr"])
    return found


def test_every_metric_the_alerts_and_dashboard_read_is_exported(stack):
    token = stack.secrets["metrics_token"]
    # nginx spreads the requests over the replicas: a counter shows up on those that
    # counted something, so read them all.
    exported = (
        set().union(*(metric_names(scrape(f"{web}/metrics", token)) for web in stack.web))
        | metric_names(scrape(stack.worker_metrics))
        | metric_names(scrape(stack.exporter))
    )
    missing = {
        where: sorted(names - exported - PROMETHEUS_OWN)
        for where, names in expressions_in_use().items()
    }
    assert not {where: names for where, names in missing.items() if names}
    assert all(expressions_in_use().values()), "a rule or panel reads no metric"
