"""Writes of the training app: start a training job, train, register, promote."""

from __future__ import annotations

import math
import time

import pandas as pd
import structlog
from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from audit.services import audit_record
from cities.models import City
from cities.selectors import observation_frame_for_city
from errors import Conflict, NotFound, Unprocessable
from jobs.models import Job
from jobs.services import (
    job_create,
    job_enqueue,
    job_progress,
    job_result_write,
    job_succeed,
    request_key_for,
)
from training.artifacts import artifact_save
from training.backtest import (
    MIN_TRAINING_DAYS,
    MIN_WINDOW_DAYS,
    BacktestWindow,
    backtest_window_for,
    calibration_days_for,
)
from training.catboost_model import DEFAULT_PARAMS, model_params
from training.deployed import algorithm_name, deployed_model_fit
from training.evaluation import Evaluation, evaluation_run
from training.metrics import TRAINING_SECONDS
from training.models import ModelVersion
from training.selectors import model_version_active_for_city
from weather.selectors import weather_asof_lookup

log = structlog.get_logger(__name__)

# A week of lags, a week to fit on and a week to backtest.
MIN_HISTORY_DAYS = 21
DEFAULT_KEYS = ("iterations", *DEFAULT_PARAMS)


def training_job_start(*, city: City, user, idempotency_key: str = "") -> Job:
    """Accept a training request for ``city``; the task is sent once the transaction commits."""
    # Training is deterministic (fixed seed), so the same data gives the same model: a
    # repeat while the data is unchanged gets the existing job, new data a new one.
    data = {"rows": city.observation_count, "changed": city.observations_changed_at}
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
        audit_record("city.train", city, user=user, details={"job": str(job.pk)})
        job_enqueue(job)
    return job


def training_jobs_start_nightly() -> list[Job]:
    """A training job for every active city with data (an unchanged city reuses its job)."""
    cities = City.objects.filter(is_active=True, observation_count__gt=0)
    return [training_job_start(city=city, user=None) for city in cities]


def training_job_execute(job: Job) -> dict:
    try:
        city = City.objects.get(pk=job.params.get("city"), organization_id=job.organization_id)
    except (City.DoesNotExist, ValueError, TypeError):
        raise NotFound(
            "The city of this training job no longer exists.", code="unknown_city"
        ) from None
    model_version = model_version_train(city=city, job=job)
    return {"model_version": model_version.pk}


def _windows_for(history: pd.DataFrame, city: City) -> tuple[BacktestWindow, int]:
    """The backtest window and calibration days: the settings, shortened for short histories.

    Short histories get a shorter window rather than no model: keep MIN_TRAINING_DAYS
    to fit on (after a week of lags, plus a day as windows snap to local midnights)
    and at least MIN_WINDOW_DAYS to score; calibration days take what is left.
    """
    demand = history["demand_mw"].dropna()
    usable_days = len(demand) * city.resolution_minutes / (60 * 24) - 7
    room = math.floor(usable_days - MIN_TRAINING_DAYS - 1)
    days = settings.TRAINING_BACKTEST_DAYS
    window_days = max(min(days, room // 2), MIN_WINDOW_DAYS)
    calibration_days = calibration_days_for(
        usable_days + 7 - window_days, settings.TRAINING_CALIBRATION_DAYS
    )
    return backtest_window_for(demand.index, city, window_days), calibration_days


def _configuration(params: dict) -> dict:
    """What makes two versions the same model but for their data."""
    keys = ("iterations", *DEFAULT_PARAMS, "calibration_days", "refit_days")
    return {k: params.get(k) for k in keys}


def _champion_score(champion: ModelVersion, history, city, evaluation: Evaluation, params: dict):
    """The champion's MAPE on the challenger's window: stored, shared or re-run."""
    window = evaluation.window
    variant = evaluation.primary_variant()
    stored = (champion.params.get("variants") or {}).get(variant) or {}
    candidate = stored.get("candidate")
    same_window = (
        champion.backtest_start == window.start.to_pydatetime()
        and champion.backtest_end == window.end.to_pydatetime()
        and "model" in champion.metrics
        and champion.metrics["model"].get("candidate") == candidate
    )
    if same_window:
        return champion.metrics["model"]["mape"], "stored"
    candidates = evaluation.variants[variant][1]
    if _configuration(champion.params) == _configuration(params) and candidate in candidates:
        return candidates[candidate].scores["mape"], "same_configuration"
    # A champion from before the no-weather model had its own settings shared the weather
    # model's: an absent ``no_weather`` means none, not today's defaults.
    stored_params = {k: v for k, v in champion.params.items() if k in DEFAULT_KEYS}
    champion_params = {**params, "no_weather": {}, **stored_params}
    members = {m["family"] for m in stored.get("members", [])} or None
    rerun = evaluation_run(
        history,
        city,
        window=window,
        params=champion_params,
        calibration_days=evaluation.calibration_days,
        refit_days=evaluation.refit_days,
        only=members,
    )
    rerun_candidates = rerun.variants[rerun.primary_variant()][1]
    name = (
        candidate if candidate in rerun_candidates else rerun.variants[rerun.primary_variant()][0]
    )
    return rerun_candidates[name].scores["mape"], "rerun"


def _champion_comparison(champion, history, city, evaluation: Evaluation, params: dict) -> dict:
    champion_mape, how = _champion_score(champion, history, city, evaluation, params)
    challenger_mape = evaluation.selected(evaluation.primary_variant()).scores["mape"]
    # Same configuration and score: the newer version has seen more data (a refresh).
    refresh = how == "same_configuration" and challenger_mape == champion_mape
    return {
        "champion": champion.pk,
        "champion_version": champion.version,
        "window": evaluation.window.as_dict(),
        "champion_mape": champion_mape,
        "challenger_mape": challenger_mape,
        "champion_score": how,
        "champion_rerun": how == "rerun",
        "challenger_wins": challenger_mape < champion_mape or refresh,
        "refresh": refresh,
    }


def model_version_train(*, city: City, job: Job | None = None) -> ModelVersion:
    """Backtest every family, fit the selected ones on all history, register, promote."""
    started = time.perf_counter()

    def report(pct: float) -> None:
        if job is not None:
            job_progress(job, int(pct))

    history = observation_frame_for_city(city)
    demand_points = int(history["demand_mw"].notna().sum()) if len(history) else 0
    demand_days = demand_points * city.resolution_minutes / (60 * 24)
    if demand_days < MIN_HISTORY_DAYS:
        raise Unprocessable(
            f"Training needs at least {MIN_HISTORY_DAYS} days of demand history; {city} has "
            f"{demand_points} demand observations ({demand_days:.1f} days).",
            code="insufficient_data",
            details={"demand_points": demand_points, "required_days": MIN_HISTORY_DAYS},
        )
    window, calibration_days = _windows_for(history, city)
    params = {
        **model_params(settings.TRAINING_ITERATIONS),
        "calibration_days": calibration_days,
        "refit_days": settings.TRAINING_REFIT_DAYS,
    }
    # The weather of each backtest day: observed (ex-post), or the stored weather
    # forecast vintage known at its midnight where there is one.
    weather = (
        weather_asof_lookup(city) if settings.TRAINING_BACKTEST_WEATHER == "vintages" else None
    )
    evaluation = evaluation_run(
        history,
        city,
        window=window,
        params=params,
        calibration_days=calibration_days,
        refit_days=settings.TRAINING_REFIT_DAYS,
        only=set(settings.TRAINING_FAMILIES) if settings.TRAINING_FAMILIES else None,
        progress=lambda share: report(share * 70),
        weather=weather,
    )
    report(70)
    deployed = deployed_model_fit(evaluation, history, city)
    report(85)

    champion = model_version_active_for_city(city)
    comparison = (
        _champion_comparison(champion, history, city, evaluation, params) if champion else None
    )
    report(95)
    metrics = {
        **evaluation.metrics(),
        "backtest_weather": "vintages where stored" if weather else "ex-post",
        "training_seconds": round(time.perf_counter() - started, 2),
    }
    if comparison:
        metrics["champion_comparison"] = comparison
    selected = evaluation.selected(evaluation.primary_variant())
    demand_index = history["demand_mw"].dropna().index

    # The version, its artifact, its promotion and the job's success commit together, and
    # only while this worker still holds the job (jobs/services.py, job_result_write): a
    # job killed and run again never registers a second version.
    with job_result_write(job):
        City.objects.select_for_update().filter(pk=city.pk).first()  # serialise version numbers
        latest = ModelVersion.objects.filter(city=city).aggregate(v=Max("version"))["v"] or 0
        model_version = ModelVersion.objects.create(
            city=city,
            algorithm=algorithm_name(selected.name, selected.members)[:40],
            version=latest + 1,
            features=list(deployed.feature_importance()),
            quantiles=list(deployed.quantiles),
            params={**params, "variants": deployed.configuration()},
            train_start=demand_index.min().to_pydatetime(),
            train_end=demand_index.max().to_pydatetime(),
            backtest_start=window.start.to_pydatetime(),
            backtest_end=window.end.to_pydatetime(),
            metrics=metrics,
            feature_importance=deployed.feature_importance(),
            job=job,
        )
        artifact_save(model_version, deployed)
        if comparison is None:
            model_version.promotion_note = "First model of the city: promoted."
            model_version_promote(model_version)
        elif comparison["challenger_wins"]:
            verb = "Refresh of" if comparison["refresh"] else "Beat"
            relation = "=" if comparison["refresh"] else "<"
            model_version.promotion_note = (
                f"{verb} v{comparison['champion_version']} on the same backtest window: MAPE "
                f"{comparison['challenger_mape']:.3f} % {relation} "
                f"{comparison['champion_mape']:.3f} %."
            )
            model_version_promote(model_version)
        else:
            model_version.promotion_note = (
                f"Kept as candidate: MAPE {comparison['challenger_mape']:.3f} % does not beat "
                f"active v{comparison['champion_version']} ({comparison['champion_mape']:.3f} %) "
                "on the same backtest window."
            )
            model_version.save(update_fields=["promotion_note"])
        if job is not None:
            job_succeed(job, {"model_version": model_version.pk})
    TRAINING_SECONDS.observe(time.perf_counter() - started)
    log.info(
        "model_trained",
        city=city.pk,
        version=model_version.version,
        status=model_version.status,
        candidate=selected.name,
        mape=selected.scores["mape"],
        coverage_90=selected.scores["coverage_90"],
        naive_mape=(metrics["seasonal_naive"] or {}).get("mape"),
    )
    return model_version


def model_version_promote(model_version: ModelVersion) -> ModelVersion:
    """Make this version its city's active model and retire the previous one, atomically.

    A version without a stored artifact cannot serve forecasts: Conflict.
    """
    if not model_version.artifact:
        raise Conflict("This model version has no stored artifact.", code="no_artifact")
    with transaction.atomic():
        versions = ModelVersion.objects.select_for_update().filter(city_id=model_version.city_id)
        list(versions)  # take the row locks before changing anything
        versions.filter(status=ModelVersion.Status.ACTIVE).exclude(pk=model_version.pk).update(
            status=ModelVersion.Status.RETIRED
        )
        model_version.status = ModelVersion.Status.ACTIVE
        model_version.promoted_at = timezone.now()
        model_version.save(update_fields=["status", "promoted_at", "promotion_note"])
        city_active_model_refresh(city_id=model_version.city_id)
        audit_record(
            "model_version.promote", model_version, details={"version": model_version.version}
        )
    return model_version


def city_active_model_refresh(*, city_id: int) -> None:
    """Copy the city's active model summary onto the city (what GET /cities/ shows).

    Called in the transaction that changes which version is active; the cities app
    reads the copy and never the registry above it.
    """
    active = model_version_active_for_city(city_id)
    summary = None
    if active is not None:
        summary = {
            "id": active.pk,
            "version": active.version,
            "algorithm": active.algorithm,
            "mape": (active.metrics.get("model") or {}).get("mape"),
        }
    City.objects.filter(pk=city_id).update(active_model=summary)


def model_version_live_record(
    model_version: ModelVersion, *, live_metrics: dict, live_calibration: dict
) -> ModelVersion:
    """Store the live figures and interval shift of a version (forecasts/live_accuracy.py
    computes them from the forecasts it issued); the artifact is not touched."""
    model_version.live_metrics = live_metrics
    model_version.live_calibration = live_calibration
    ModelVersion.objects.filter(pk=model_version.pk).update(
        live_metrics=live_metrics, live_calibration=live_calibration
    )
    return model_version
