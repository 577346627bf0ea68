"""The state exporter: figures of the whole service, read at scrape time.

What no single web or worker process knows, computed when Prometheus scrapes
(``manage.py metrics_exporter``, one replica): messages waiting in each broker queue,
queued jobs and the age of the oldest per queue, each active city's forecast age, each
active model's live and backtest MAPE, and whether the database, the broker and the
cache answer. The alerts of
``deploy/prometheus/alerts.yml`` read these; docs/operations.md lists them.
"""

from __future__ import annotations

import math
import time

from django.conf import settings
from django.db import connection
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily

from energy_site import health
from energy_site.celery import app
from forecasts.selectors import forecast_latest_issued_by_active_city
from jobs.registry import job_kinds_registered
from jobs.selectors import jobs_queued_by_kind
from training.selectors import model_versions_active_scores

DEPENDENCY_CHECKS = {
    "database": health._check_database,
    "broker": health._check_broker,
    "cache": health._check_cache,
}


def queue_of_kind() -> dict[str, str]:
    """Job kind -> the queue its task is routed to (settings.TASK_QUEUES)."""
    return {
        kind: app.amqp.router.route({}, task)["queue"].name
        for kind, task in job_kinds_registered().items()
    }


def broker_queue_messages() -> dict[str, int]:
    """Messages waiting in each declared queue (declaring is idempotent: the app
    declares the same queues when it sends)."""
    with app.connection_for_read() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
        channel = conn.default_channel
        return {
            name: app.amqp.queues[name].bind(channel).queue_declare().message_count
            for name in settings.TASK_QUEUES
        }


class ServiceStateCollector:
    """A prometheus_client custom collector: every figure is read when scraped."""

    def collect(self):
        # prometheus_client answers each scrape in a new thread, and Django's database
        # connections belong to their thread: close this one when the scrape is done.
        try:
            yield from self._collect()
        finally:
            connection.close()

    def _collect(self):
        started = time.perf_counter()
        up = GaugeMetricFamily(
            "energy_forecast_dependency_up",
            "1 if the dependency answered this scrape, 0 if not",
            labels=["dependency"],
        )
        answered = {}
        for name, check in DEPENDENCY_CHECKS.items():
            try:
                check()
                answered[name] = True
            except Exception:  # the figure is the answer: down
                answered[name] = False
            up.add_metric([name], 1.0 if answered[name] else 0.0)
        yield up

        if answered["broker"]:
            messages = GaugeMetricFamily(
                "energy_forecast_queue_messages",
                "Task messages waiting in each broker queue",
                labels=["queue"],
            )
            try:
                for queue, count in broker_queue_messages().items():
                    messages.add_metric([queue], count)
                yield messages
            except Exception:  # the broker went away between the check and the count
                pass

        if answered["database"]:
            yield from self._from_database()

        yield GaugeMetricFamily(
            "energy_forecast_exporter_scrape_seconds",
            "Time this exporter took to read every figure",
            value=time.perf_counter() - started,
        )

    def _from_database(self):
        now = timezone.now()
        queued = GaugeMetricFamily(
            "energy_forecast_queue_jobs", "Queued jobs of each queue", labels=["queue"]
        )
        oldest = GaugeMetricFamily(
            "energy_forecast_queue_oldest_job_age_seconds",
            "Age of the oldest queued job of each queue (0 when none is queued)",
            labels=["queue"],
        )
        by_queue = {queue: (0, None) for queue in settings.TASK_QUEUES}
        routes = queue_of_kind()
        for kind, (count, created) in jobs_queued_by_kind().items():
            queue = routes.get(kind, settings.CELERY_TASK_DEFAULT_QUEUE)
            total, first = by_queue.get(queue, (0, None))
            by_queue[queue] = (total + count, created if first is None else min(first, created))
        for queue, (count, first) in sorted(by_queue.items()):
            queued.add_metric([queue], count)
            oldest.add_metric([queue], (now - first).total_seconds() if first else 0.0)
        yield queued
        yield oldest

        age = GaugeMetricFamily(
            "energy_forecast_forecast_age_seconds",
            "Age of each active city's latest forecast run (+Inf: never forecast)",
            labels=["organization", "city", "city_id"],
        )
        for row in forecast_latest_issued_by_active_city():
            issued = row["latest_issued_at"]
            seconds = (now - issued).total_seconds() if issued else math.inf
            age.add_metric([row["organization_slug"], row["name"], str(row["pk"])], seconds)
        yield age

        labels = ["organization", "city", "model_version"]
        live = GaugeMetricFamily(
            "energy_forecast_model_live_mape_percent",
            "MAPE of the active model's issued forecasts against the actuals since (%)",
            labels=labels,
        )
        backtest = GaugeMetricFamily(
            "energy_forecast_model_backtest_mape_percent",
            "MAPE of the active model on its backtest window (%)",
            labels=labels,
        )
        for row in model_versions_active_scores():
            key = [row["organization"], row["city"], str(row["version"])]
            if row["backtest_mape"] is not None:
                backtest.add_metric(key, float(row["backtest_mape"]))
            if row["live_mape"] is not None:  # no actuals since it issued: no figure yet
                live.add_metric(key, float(row["live_mape"]))
        yield live
        yield backtest
