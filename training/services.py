"""Writes of the training app: start a training job, train, register, promote."""

from __future__ import annotations

import time

import pandas as pd
import structlog
from django.db import transaction
from django.db.models import Count, Max
from django.utils import timezone

from forecasts.models import City, Job, Observation
from forecasts.selectors import observation_frame_for_city
from forecasts.services.jobs import (
    JobError,
    job_create,
    job_enqueue,
    job_progress,
    request_key_for,
)
from training.artifacts import artifact_save
from training.backtest import BacktestWindow, backtest_run
from training.features import FEATURE_COLUMNS, build_training_frame
from training.models import ModelVersion
from training.selectors import model_version_active_for_city
from training.trainer import ALGORITHM, model_fit, model_params

log = structlog.get_logger(__name__)

# A week of lags, a week to fit on and a week to backtest.
MIN_HISTORY_DAYS = 21


def training_job_start(*, city: City, user, idempotency_key: str = "") -> Job:
    """Accept a training request for ``city``; the task is sent once the transaction commits."""
    from training.tasks import train_model

    # Training is deterministic (fixed seed), so the same data gives the same model: a
    # repeat while the data is unchanged gets the existing job, new data a new one.
    data = Observation.objects.filter(city=city).aggregate(
        rows=Count("pk"), changed=Max("updated_at")
    )
    params = {"city": city.pk}
    job, created = job_create(
        organization=city.organization,
        user=user,
        kind=Job.Kind.TRAIN,
        params=params,
        request_key=request_key_for(city.organization_id, Job.Kind.TRAIN, {**params, "data": data}),
        idempotency_key=idempotency_key,
    )
    if created:
        job_enqueue(job, train_model)
    return job


def training_job_execute(job: Job) -> dict:
    try:
        city = City.objects.get(pk=job.params.get("city"), organization_id=job.organization_id)
    except (City.DoesNotExist, ValueError, TypeError):
        raise JobError("unknown_city", "The city of this training job no longer exists.") from None
    model_version = model_version_train(city=city, job=job)
    return {"model_version": model_version.pk}


def _window_of(backtest: dict) -> BacktestWindow:
    window = backtest["window"]
    return BacktestWindow(
        pd.Timestamp(window["start"]), pd.Timestamp(window["end"]), window["days"]
    )


def _champion_comparison(champion: ModelVersion, history, city, backtest: dict) -> dict:
    """The champion's backtest MAPE on the challenger's window (re-run if windows differ)."""
    window = _window_of(backtest)
    same_window = (
        champion.backtest_start == window.start.to_pydatetime()
        and champion.backtest_end == window.end.to_pydatetime()
        and "model" in champion.metrics
    )
    if same_window:
        champion_mape = champion.metrics["model"]["mape"]
    else:
        rerun = backtest_run(history, city, window=window, params=champion.params or None)
        champion_mape = rerun["model"]["mape"]
    challenger_mape = backtest["model"]["mape"]
    return {
        "champion": champion.pk,
        "champion_version": champion.version,
        "window": backtest["window"],
        "champion_mape": champion_mape,
        "challenger_mape": challenger_mape,
        "champion_rerun": not same_window,
        "challenger_wins": challenger_mape < champion_mape,
    }


def model_version_train(*, city: City, job: Job | None = None) -> ModelVersion:
    """Backtest, fit on all history, register the version and promote it if it wins."""
    started = time.perf_counter()

    def report(pct: float) -> None:
        if job is not None:
            job_progress(job, int(pct))

    history = observation_frame_for_city(city)
    demand_points = int(history["demand_mw"].notna().sum()) if len(history) else 0
    demand_days = demand_points * city.resolution_minutes / (60 * 24)
    if demand_days < MIN_HISTORY_DAYS:
        raise JobError(
            "insufficient_data",
            f"Training needs at least {MIN_HISTORY_DAYS} days of demand history; {city} has "
            f"{demand_points} demand observations ({demand_days:.1f} days).",
            {"demand_points": demand_points, "required_days": MIN_HISTORY_DAYS},
        )
    params = model_params()
    backtest = backtest_run(history, city, params=params, progress=lambda p: report(p * 0.45))
    report(45)
    features, target = build_training_frame(history, city)
    model = model_fit(features, target, params)
    report(75)

    champion = model_version_active_for_city(city)
    comparison = _champion_comparison(champion, history, city, backtest) if champion else None
    report(95)
    window = _window_of(backtest)
    metrics = {**backtest, "training_seconds": round(time.perf_counter() - started, 2)}
    if comparison:
        metrics["champion_comparison"] = comparison

    with transaction.atomic():
        City.objects.select_for_update().filter(pk=city.pk).first()  # serialise version numbers
        latest = ModelVersion.objects.filter(city=city).aggregate(v=Max("version"))["v"] or 0
        model_version = ModelVersion.objects.create(
            city=city,
            algorithm=ALGORITHM,
            version=latest + 1,
            features=list(FEATURE_COLUMNS),
            quantiles=list(model.quantiles),
            params={**params, "interval_scales": model.interval_scales},
            train_start=target.index.min().to_pydatetime(),
            train_end=target.index.max().to_pydatetime(),
            backtest_start=window.start.to_pydatetime(),
            backtest_end=window.end.to_pydatetime(),
            metrics=metrics,
            feature_importance=model.feature_importance(),
            job=job,
        )
        artifact_save(model_version, model)
    if comparison is None:
        model_version.promotion_note = "First model of the city: promoted."
        model_version_promote(model_version)
    elif comparison["challenger_wins"]:
        model_version.promotion_note = (
            f"Beat v{comparison['champion_version']} on the same backtest window: MAPE "
            f"{comparison['challenger_mape']:.3f} % < {comparison['champion_mape']:.3f} %."
        )
        model_version_promote(model_version)
    else:
        model_version.promotion_note = (
            f"Kept as candidate: MAPE {comparison['challenger_mape']:.3f} % does not beat "
            f"active v{comparison['champion_version']} ({comparison['champion_mape']:.3f} %) "
            "on the same backtest window."
        )
        model_version.save(update_fields=["promotion_note"])
    log.info(
        "model_trained",
        city=city.pk,
        version=model_version.version,
        status=model_version.status,
        mape=backtest["model"]["mape"],
        naive_mape=backtest["seasonal_naive"]["mape"],
    )
    return model_version


def model_version_promote(model_version: ModelVersion) -> ModelVersion:
    """Make this version its city's active model and retire the previous one, atomically."""
    with transaction.atomic():
        versions = ModelVersion.objects.select_for_update().filter(city_id=model_version.city_id)
        list(versions)  # take the row locks before changing anything
        versions.filter(status=ModelVersion.Status.ACTIVE).exclude(pk=model_version.pk).update(
            status=ModelVersion.Status.RETIRED
        )
        model_version.status = ModelVersion.Status.ACTIVE
        model_version.promoted_at = timezone.now()
        model_version.save(update_fields=["status", "promoted_at", "promotion_note"])
    return model_version
