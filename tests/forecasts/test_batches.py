"""The forecast batch (forecasts/batch.py): one claim, one read, one feature pass per
city, one predict per model version, one write and one finish for the whole batch,
with the same points as one request at a time, and a bad request failing alone."""

import time

import numpy as np
import pandas as pd
import pytest

from forecasts import batch as forecast_batch
from forecasts.batch import forecast_batch_process
from forecasts.models import Forecast, ForecastRun
from forecasts.services import ForecastSpec, forecast_request_create
from jobs.models import Job
from jobs.services import job_create
from tests.factories import load_observations, make_city
from training.artifacts import artifact_cache_clear, artifact_load, artifact_save
from training.models import ModelVersion
from training.services import model_version_train

pytestmark = pytest.mark.django_db

MIDNIGHT = pd.Timestamp("2014-12-20 13:00", tz="UTC")  # local midnight, Melbourne


@pytest.fixture
def fast_training(settings, tmp_path):
    settings.TRAINING_ITERATIONS = 60
    settings.TRAINING_BACKTEST_DAYS = 7
    settings.TRAINING_CALIBRATION_DAYS = 7
    settings.TRAINING_REFIT_DAYS = 7
    settings.TRAINING_FAMILIES = ["catboost", "catboost-no-weather", "seasonal-naive"]
    settings.MEDIA_ROOT = tmp_path / "media"
    artifact_cache_clear()
    yield
    artifact_cache_clear()


def request(city, start, hours, quantiles=(0.05, 0.5, 0.95)):
    job, created = forecast_request_create(
        organization_id=city.organization_id,
        user=None,
        spec=ForecastSpec(
            city=city, start=start.to_pydatetime(), horizon_hours=hours, quantiles=quantiles
        ),
    )
    assert created
    return job


def points_by_request() -> dict:
    rows = Forecast.objects.values_list(
        "city_id",
        "run__start",
        "run__horizon_hours",
        "timestamp",
        "demand",
        "confidence_lower",
        "confidence_upper",
        "quantiles",
        "run__method",
        "run__quality",
    )
    return {row[:4]: row[4:] for row in rows}


def test_a_mixed_batch_writes_the_points_of_one_request_at_a_time(
    city_with_history, victoria, fast_training
):
    """Cities with their own model (with and without temperature), one without a model
    (fallback), horizons of a few hours to two days, several days per city."""
    melbourne = city_with_history
    model_version_train(city=melbourne)
    model = artifact_load(ModelVersion.objects.get(city=melbourne, status="active"))
    geelong = make_city(melbourne.organization, "Geelong (synthetic)")
    load_observations(
        geelong, victoria.loc["2014-10-22":].assign(demand_mw=lambda f: f.demand_mw * 0.4)
    )
    frame = victoria.loc["2014-10-22":, ["demand_mw"]] * 0.7
    ballarat = make_city(melbourne.organization, "Ballarat (synthetic, no temperature)")
    from cities.services import observations_upsert

    observations_upsert(city=ballarat, frame=frame)
    for city in (geelong, ballarat):
        version = ModelVersion.objects.create(city=city, version=1, status="active")
        artifact_save(version, model)
    no_model = make_city(melbourne.organization, "Bendigo (no model)")
    load_observations(no_model, victoria.loc["2014-10-22":])

    specs = []
    for day in range(4):
        for city, hours in ((melbourne, 24), (geelong, 6), (ballarat, 48), (no_model, 24)):
            specs.append((city, MIDNIGHT + pd.Timedelta(days=day), hours + day))
    specs.append((melbourne, MIDNIGHT + pd.Timedelta(hours=5), 12))  # not from midnight

    for city, start, hours in specs:
        request(city, start, hours)
    assert forecast_batch_process(limit=32, wait_seconds=0) == len(specs)
    batched = points_by_request()
    assert ForecastRun.objects.count() == len(specs)
    assert {q for *_, q in batched.values()} == {"normal", "fallback"}

    ForecastRun.objects.all().delete()
    Job.objects.all().delete()
    for city, start, hours in specs:
        request(city, start, hours)
    while forecast_batch_process(limit=1, wait_seconds=0):
        pass
    alone = points_by_request()

    assert batched.keys() == alone.keys()
    assert len(batched) == sum(2 * hours for _, _, hours in specs)
    for key, values in batched.items():
        other = alone[key]
        assert values[4:] == other[4:]  # method, quality
        assert values[3].keys() == other[3].keys()
        np.testing.assert_allclose(
            [*values[:3], *values[3].values()], [*other[:3], *other[3].values()], rtol=1e-12
        )


def test_bad_requests_in_a_batch_fail_alone_and_each_good_one_gets_one_run(city_with_history, city):
    good = [request(city_with_history, MIDNIGHT, h) for h in (6, 12, 24)]
    empty = make_city(city.organization, "Empty", timezone="Australia/Sydney")
    no_data = request(empty, MIDNIGHT, 24)
    gone = make_city(city.organization, "Gone")
    vanished = request(gone, MIDNIGHT, 24)
    gone.delete()  # the job outlives its city (a foreign key it does not have)
    broken, _ = job_create(
        organization=city.organization,
        user=None,
        kind=Job.Kind.FORECAST,
        params={"city": city_with_history.pk, "start": MIDNIGHT.isoformat(), "horizon_hours": 999},
    )
    assert forecast_batch_process(wait_seconds=0) == 6
    states = {job.pk: job for job in Job.objects.all()}
    for job in good:
        assert states[job.pk].state == Job.State.SUCCEEDED
        assert ForecastRun.objects.filter(job=job).count() == 1
        assert states[job.pk].result["forecast_run"] == ForecastRun.objects.get(job=job).pk
    assert states[no_data.pk].error["code"] == "insufficient_data"
    assert states[vanished.pk].error["code"] == "unknown_city"
    assert states[broken.pk].error["code"] == "invalid_horizon"
    assert ForecastRun.objects.count() == 3


def test_a_result_the_database_refuses_fails_alone(city_with_history, monkeypatch):
    """The batched write (one INSERT or COPY) fails as a whole; the batch then writes
    each job on its own, and only the bad one fails."""
    jobs = [request(city_with_history, MIDNIGHT, h) for h in (6, 12, 24)]
    real = forecast_batch.forecast_many

    def with_a_bad_value(requests):
        results = real(requests)
        bad = next(r for r in results if r.key == jobs[1].pk)
        bad.values[0.5] = bad.values[0.5].copy()
        bad.values[0.5][0] = np.nan  # not JSON: the quantiles column refuses it
        return results

    monkeypatch.setattr(forecast_batch, "forecast_many", with_a_bad_value)
    assert forecast_batch_process(wait_seconds=0) == 3
    states = {job.pk: job for job in Job.objects.all()}
    assert states[jobs[0].pk].state == states[jobs[2].pk].state == Job.State.SUCCEEDED
    assert states[jobs[1].pk].state == Job.State.FAILED
    assert states[jobs[1].pk].error["code"] == "internal_error"
    assert ForecastRun.objects.count() == 2


def test_a_job_lost_during_the_batch_gets_no_run(city_with_history, monkeypatch):
    """Exactly one run per job: a job reclaimed by another worker while this batch
    computed (its lease lapsed) is not written by this one."""
    jobs = [request(city_with_history, MIDNIGHT, h) for h in (6, 12)]
    real = forecast_batch.forecast_many

    def then_lose_one(requests):
        Job.objects.filter(pk=jobs[0].pk).update(worker="elsewhere:1:abcd")
        return real(requests)

    monkeypatch.setattr(forecast_batch, "forecast_many", then_lose_one)
    assert forecast_batch_process(wait_seconds=0) == 2
    lost, kept = Job.objects.get(pk=jobs[0].pk), Job.objects.get(pk=jobs[1].pk)
    assert lost.state == Job.State.RUNNING and lost.worker == "elsewhere:1:abcd"
    assert not ForecastRun.objects.filter(job=lost).exists()
    assert kept.state == Job.State.SUCCEEDED
    assert ForecastRun.objects.filter(job=kept).count() == 1


def test_the_batch_wait_adapts(city_with_history, settings):
    settings.FORECAST_BATCH_WAIT_SECONDS = 3
    request(city_with_history, MIDNIGHT, 6)
    started = time.monotonic()
    assert forecast_batch_process() == 1  # nothing else queued: no wait
    assert time.monotonic() - started < 2
    for hours in range(1, 4):
        request(city_with_history, MIDNIGHT, hours)
    started = time.monotonic()
    # Three queued and no more arriving: the batch goes as soon as that is clear.
    assert forecast_batch_process() == 3
    assert time.monotonic() - started < 2


def test_the_batched_write_stores_what_the_single_write_stores(city_with_history):
    """COPY on PostgreSQL (bulk_create elsewhere) and the ORM's per-run write: the same
    rows, to the last bit of every float."""
    from forecasts.services import forecast_run_store, forecast_runs_store
    from training.inference import ForecastRequest, forecast_many
    from training.quantiles import SUPPORTED_QUANTILES

    spec = ForecastSpec(
        city=city_with_history,
        start=MIDNIGHT.to_pydatetime(),
        horizon_hours=24,
        quantiles=SUPPORTED_QUANTILES,
    )
    (result,) = forecast_many(
        [ForecastRequest("k", city_with_history, MIDNIGHT, 24, SUPPORTED_QUANTILES)]
    )
    one = forecast_run_store(job=None, spec=spec, result=result)
    (many,) = forecast_runs_store([(None, spec, result)])
    columns = ("timestamp", "demand", "confidence_lower", "confidence_upper", "quantiles")
    first = list(Forecast.objects.filter(run=one).order_by("timestamp").values_list(*columns))
    second = list(Forecast.objects.filter(run=many).order_by("timestamp").values_list(*columns))
    assert len(first) == 48 and first == second
    assert ForecastRun.objects.filter(pk=many.pk, city=city_with_history).exists()


def test_a_batch_replaces_the_cached_answers_of_its_jobs(
    owner_client, city_with_history, monkeypatch
):
    """Claimed and finished with one UPDATE each, the jobs' cached renderings
    (jobs/rendered.py) still follow: polls during the batch see it running, a poll
    after it sees the result."""
    body = {"city": city_with_history.pk, "start": MIDNIGHT.isoformat()}
    job_ids = [
        owner_client.post("/api/v1/forecasts/", {**body, "horizon_hours": h}, format="json").json()[
            "job"
        ]["id"]
        for h in (6, 12)
    ]
    for job_id in job_ids:
        assert owner_client.get(f"/api/v1/jobs/{job_id}/").json()["state"] == "queued"
    real = forecast_batch.forecast_many

    def polled_while_computing(requests):
        for job_id in job_ids:  # warms the cache with the running state
            assert owner_client.get(f"/api/v1/jobs/{job_id}/").json()["state"] == "running"
        return real(requests)

    monkeypatch.setattr(forecast_batch, "forecast_many", polled_while_computing)
    assert forecast_batch_process(wait_seconds=0) == 2
    for job_id in job_ids:
        answer = owner_client.get(f"/api/v1/jobs/{job_id}/").json()
        assert answer["state"] == "succeeded"
        assert answer["result"]["forecast_run"] == ForecastRun.objects.get(job_id=job_id).pk
