import pandas as pd
import pytest

from cities.models import City
from errors import DomainError
from jobs.models import Job
from jobs.services import job_claim
from tests.factories import load_observations
from training.models import ModelVersion
from training.services import (
    model_version_promote,
    model_version_train,
    training_job_execute,
    training_job_start,
)


@pytest.fixture
def city_until_dec30(city, victoria):
    load_observations(city, victoria.loc["2014-10-22":"2014-12-30 12:30"])
    return city


def test_first_model_is_active_and_fully_registered(city_with_history):
    model_version = model_version_train(city=city_with_history)
    model_version.refresh_from_db()
    assert model_version.status == ModelVersion.Status.ACTIVE
    assert model_version.version == 1
    assert model_version.artifact.name.endswith(".pkl")
    assert model_version.artifact.size > 0
    metrics = model_version.metrics
    assert metrics["model"]["mape"] < metrics["seasonal_naive"]["mape"]
    assert metrics["window"]["days"] == 7
    assert 0 <= metrics["model"]["coverage_90"] <= 100 and metrics["model"]["crossing"] == 0
    assert {"rmse", "pinball", "skill_mape", "skill_pinball"} <= set(metrics["model"])
    assert set(metrics["variants"]) == {"weather", "no_weather"}
    selected = metrics["variants"]["weather"]["selected"]
    assert metrics["model"]["candidate"] == selected
    assert model_version.params["variants"]["weather"]["candidate"] == selected
    assert len(model_version.params["variants"]["weather"]["offsets_mw"]) == 24
    assert model_version.backtest_end == pd.Timestamp("2014-12-31 13:00", tz="UTC")
    assert model_version.quantiles == [0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95]
    assert set(model_version.feature_importance) == set(model_version.features)
    assert model_version.params["iterations"] == 150


def test_worse_challenger_stays_candidate_then_promote_swaps(city_until_dec30, victoria, settings):
    champion = model_version_train(city=city_until_dec30)
    # New data moves the backtest window: the champion is re-run on the new window.
    load_observations(city_until_dec30, victoria.loc["2014-12-30 13:00":])
    settings.TRAINING_ITERATIONS = 3
    challenger = model_version_train(city=city_until_dec30)

    comparison = challenger.metrics["champion_comparison"]
    assert challenger.version == 2
    assert challenger.status == ModelVersion.Status.CANDIDATE
    assert comparison["champion_rerun"] is True and comparison["champion_score"] == "rerun"
    assert comparison["window"] == challenger.metrics["window"]
    assert comparison["challenger_mape"] > comparison["champion_mape"]
    assert "Kept as candidate" in challenger.promotion_note
    champion.refresh_from_db()
    assert champion.status == ModelVersion.Status.ACTIVE

    model_version_promote(challenger)
    champion.refresh_from_db()
    challenger.refresh_from_db()
    assert challenger.status == ModelVersion.Status.ACTIVE
    assert champion.status == ModelVersion.Status.RETIRED
    assert ModelVersion.objects.filter(city=city_until_dec30, status="active").count() == 1


def test_better_challenger_on_the_same_window_is_promoted(city_with_history, settings):
    settings.TRAINING_ITERATIONS = 3
    weak = model_version_train(city=city_with_history)
    settings.TRAINING_ITERATIONS = 150
    strong = model_version_train(city=city_with_history)
    weak.refresh_from_db()
    assert strong.metrics["champion_comparison"]["champion_rerun"] is False
    assert strong.status == ModelVersion.Status.ACTIVE
    assert weak.status == ModelVersion.Status.RETIRED
    assert "Beat v1" in strong.promotion_note


def test_same_configuration_on_new_data_is_a_refresh_when_not_worse(city_until_dec30, victoria):
    first = model_version_train(city=city_until_dec30)
    load_observations(city_until_dec30, victoria.loc["2014-12-30 13:00":])
    second = model_version_train(city=city_until_dec30)
    comparison = second.metrics["champion_comparison"]
    # Same configuration: the champion's score on the new window comes from the same run.
    assert comparison["champion_score"] == "same_configuration"
    assert comparison["challenger_mape"] <= comparison["champion_mape"]
    second.refresh_from_db()
    first.refresh_from_db()
    assert second.status == ModelVersion.Status.ACTIVE and first.status == "retired"


def test_training_job_runs_and_reports(
    city_with_history, owner, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job = training_job_start(city=city_with_history, user=owner)
    assert len(callbacks) == 1  # the task is sent only once the request commits
    assert job.kind == Job.Kind.TRAIN and job.params == {"city": city_with_history.pk}

    claimed = job_claim(job.pk)
    result = training_job_execute(claimed)
    model_version = ModelVersion.objects.get(pk=result["model_version"])
    assert model_version.job_id == job.pk
    job.refresh_from_db()
    assert job.progress >= 90


def test_too_little_history_is_insufficient_data(city, victoria):
    load_observations(city, victoria.loc["2014-12-20":])
    with pytest.raises(DomainError) as error:
        model_version_train(city=city)
    assert error.value.code == "insufficient_data"
    assert "days" in error.value.message
    assert not ModelVersion.objects.filter(city=city).exists()


def test_training_job_for_a_deleted_city_fails_cleanly(city, owner):
    job = Job.objects.create(organization=city.organization, kind="train", params={"city": 0})
    with pytest.raises(DomainError) as error:
        training_job_execute(job)
    assert error.value.code == "unknown_city"
    assert City.objects.filter(pk=city.pk).exists()
