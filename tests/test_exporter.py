"""The state exporter (energy_site/exporter.py) reads the real database and broker."""

from datetime import timedelta

import pytest
from django.utils import timezone
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from energy_site.celery import app
from energy_site.exporter import ServiceStateCollector, queue_of_kind
from forecasts.models import ForecastRun
from jobs.models import Job
from tests.factories import make_city


def scrape() -> dict[str, float]:
    registry = CollectorRegistry()
    registry.register(ServiceStateCollector())
    samples = {}
    for family in text_string_to_metric_families(generate_latest(registry).decode()):
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            samples[f"{sample.name}{{{labels}}}"] = sample.value
    return samples


def test_each_job_kind_maps_to_its_queue():
    assert queue_of_kind() == {
        "ingest": "training",
        "train": "training",
        "forecast": "inference",
        "optimize": "optimization",
    }


@pytest.mark.django_db(transaction=True)
def test_queued_jobs_and_the_oldest_age_per_queue(org, owner):
    now = timezone.now()
    for kind, minutes in (("train", 30), ("ingest", 5), ("forecast", 2)):
        job = Job.objects.create(organization=org, user=owner, kind=kind, params={})
        Job.objects.filter(pk=job.pk).update(created_at=now - timedelta(minutes=minutes))
    Job.objects.create(
        organization=org, kind="optimize", state=Job.State.SUCCEEDED, params={}
    )  # finished: not queued
    samples = scrape()
    assert samples["energy_forecast_queue_jobs{queue=training}"] == 2
    assert samples["energy_forecast_queue_jobs{queue=inference}"] == 1
    assert samples["energy_forecast_queue_jobs{queue=optimization}"] == 0
    assert (
        30 * 60 <= samples["energy_forecast_queue_oldest_job_age_seconds{queue=training}"] < 31 * 60
    )
    assert 120 <= samples["energy_forecast_queue_oldest_job_age_seconds{queue=inference}"] < 180
    assert samples["energy_forecast_queue_oldest_job_age_seconds{queue=optimization}"] == 0
    assert samples["energy_forecast_dependency_up{dependency=database}"] == 1


@pytest.mark.django_db(transaction=True)
def test_forecast_age_per_active_city(org):
    forecast, never, _inactive = (
        make_city(org),
        make_city(org, name="Geelong"),
        make_city(org, name="Ballarat", is_active=False),
    )
    run = ForecastRun.objects.create(
        city=forecast, method="seasonal-profile", start=timezone.now(), horizon_hours=24
    )
    ForecastRun.objects.filter(pk=run.pk).update(issued_at=timezone.now() - timedelta(hours=3))
    ages = {k: v for k, v in scrape().items() if k.startswith("energy_forecast_forecast_age")}
    assert set(ages) == {
        f"energy_forecast_forecast_age_seconds{{city=Melbourne,city_id={forecast.pk},organization=vic}}",
        f"energy_forecast_forecast_age_seconds{{city=Geelong,city_id={never.pk},organization=vic}}",
    }
    assert 3 * 3600 <= ages[next(k for k in ages if "Melbourne" in k)] < 3 * 3600 + 60
    assert ages[next(k for k in ages if "Geelong" in k)] == float("inf")


@pytest.mark.needs_server
@pytest.mark.django_db(transaction=True)
def test_messages_waiting_in_the_broker_queue():
    def messages():
        return scrape()["energy_forecast_queue_messages{queue=optimization}"]

    with app.connection_for_write() as conn:
        conn.default_channel.queue_purge("optimization")
    before = messages()
    try:
        for _ in range(3):
            app.send_task("jobs.tasks.jobs_cleanup", queue="optimization")
        assert messages() == before + 3
    finally:
        with app.connection_for_write() as conn:
            conn.default_channel.queue_purge("optimization")


@pytest.mark.needs_server
@pytest.mark.django_db(transaction=True)
def test_a_broker_that_does_not_answer_is_reported_down():
    saved = app.conf.broker_url
    app.conf.broker_url = "redis://127.0.0.1:9/0"  # nothing listens on the discard port
    app._pool = None
    try:
        samples = scrape()
    finally:
        app.conf.broker_url = saved
        app._pool = None
    assert samples["energy_forecast_dependency_up{dependency=broker}"] == 0
    assert samples["energy_forecast_dependency_up{dependency=database}"] == 1
    assert not any(k.startswith("energy_forecast_queue_messages") for k in samples)


@pytest.mark.django_db(transaction=True)
def test_each_active_model_reports_its_live_and_backtest_mape(org):
    from training.models import ModelVersion

    city = make_city(org)
    ModelVersion.objects.create(
        city=city, version=3, status="active", metrics={"model": {"mape": 3.1}},
        live_metrics={"mape": 4.7, "coverage_90": 86.0, "points": 96},
    )  # fmt: skip
    ModelVersion.objects.create(city=city, version=2, status="retired", live_metrics={"mape": 9})
    fresh = make_city(org, name="Geelong")
    ModelVersion.objects.create(
        city=fresh, version=1, status="active", metrics={"model": {"mape": 2.0}}
    )  # no actuals since it issued: no live figure yet
    samples = scrape()
    labels = "city=Melbourne,model_version=3,organization=vic"
    assert samples[f"energy_forecast_model_live_mape_percent{{{labels}}}"] == 4.7
    assert samples[f"energy_forecast_model_backtest_mape_percent{{{labels}}}"] == 3.1
    live = [k for k in samples if k.startswith("energy_forecast_model_live_mape_percent")]
    assert live == [f"energy_forecast_model_live_mape_percent{{{labels}}}"]
    assert (
        "energy_forecast_model_backtest_mape_percent{city=Geelong,model_version=1,organization=vic}"
        in samples
    )
