"""Batched inference: many forecast requests, one feature frame and one predict per model.

The forecast service claims a batch of jobs and calls :func:`forecast_many`; each
request gets its own result or its own DomainError, so one bad request never fails the
batch. A city without an active model, or without the history its lags need, gets
the seasonal-profile fallback flagged as such.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import structlog

from cities.models import City
from cities.selectors import observation_frames_for_windows
from errors import DomainError, InvalidInput
from training.artifacts import artifact_load
from training.evaluation import WEATHER
from training.fallback import METHOD as FALLBACK_METHOD
from training.fallback import seasonal_profile_forecast
from training.features import lead_days, local_day_ends
from training.models import ModelVersion
from training.quantiles import SUPPORTED_QUANTILES
from training.selectors import model_versions_active_for_cities
from weather.models import WeatherVintage
from weather.selectors import weather_for_forecasts

__all__ = ["SUPPORTED_QUANTILES", "ForecastRequest", "ForecastResult", "forecast_many"]

log = structlog.get_logger(__name__)

MAX_HORIZON_HOURS = 168
# Lags reach one week back from the origin, the statistical model three: load four
# weeks and a day (also what the fallback profile needs).
HISTORY_DAYS = 29
# The model is used only when its lags are there: a week of demand right before the origin.
MODEL_MIN_LAG_COVERAGE = 0.9


@dataclass
class ForecastRequest:
    key: object
    city: City
    start: pd.Timestamp  # UTC, aligned to the city's resolution
    horizon_hours: int  # 1..168
    quantiles: tuple[float, ...]  # subset of SUPPORTED_QUANTILES, always containing 0.5


@dataclass
class ForecastResult:
    key: object
    index: pd.DatetimeIndex  # UTC interval starts, start .. start + horizon (exclusive)
    values: dict[float, np.ndarray]  # quantile -> MW, non-crossing
    method: str
    model_version: ModelVersion | None
    quality: str  # "normal" or "fallback"
    quality_reason: str
    # Which weather fed it (forecasts.ForecastRun.Weather): "vintage", "observations"
    # or "none"; the vintage read as-of the start; why there was none.
    weather: str = "none"
    weather_vintage: WeatherVintage | None = None
    weather_note: str = ""
    calibration_shift: dict = field(default_factory=dict)  # lead day -> quantile -> MW


@dataclass
class _Prepared:
    request: ForecastRequest
    start: pd.Timestamp
    index: pd.DatetimeIndex
    history: pd.DataFrame
    weather: str = "none"
    weather_vintage: WeatherVintage | None = None
    weather_note: str = ""


def _validate(request: ForecastRequest) -> tuple[pd.Timestamp, pd.DatetimeIndex]:
    start = pd.Timestamp(request.start)
    if start.tzinfo is None:
        raise InvalidInput("start needs a time zone (UTC offset).", code="invalid_start")
    start = start.tz_convert("UTC")
    if not 1 <= int(request.horizon_hours) <= MAX_HORIZON_HOURS:
        raise InvalidInput(f"horizon_hours must be 1..{MAX_HORIZON_HOURS}.", code="invalid_horizon")
    unknown = sorted(set(request.quantiles) - set(SUPPORTED_QUANTILES))
    if unknown or 0.5 not in request.quantiles:
        raise InvalidInput(
            f"quantiles must be a subset of {list(SUPPORTED_QUANTILES)} containing 0.5.",
            code="invalid_quantiles",
            details={"unknown": unknown},
        )
    step = pd.Timedelta(minutes=request.city.resolution_minutes)
    if (start - start.floor("D")) % step:
        raise InvalidInput(
            f"start must fall on a {request.city.resolution_minutes}-minute boundary.",
            code="misaligned_start",
        )
    periods = int(pd.Timedelta(hours=int(request.horizon_hours)) / step)
    return start, pd.date_range(start, periods=periods, freq=step)


def _prepare(
    request: ForecastRequest,
    start: pd.Timestamp,
    index: pd.DatetimeIndex,
    observations: pd.DataFrame,
    found,
) -> _Prepared:
    """The request's history: ``observations`` of its window (observation_frame_for_city
    from HISTORY_DAYS before the start to the end) and ``found``, its weather_for_forecast."""
    frame = observations
    # As-of: demand at or after the origin is not known yet; weather rows there are
    # (an uploaded weather forecast) and feed the temperature feature.
    demand = frame["demand_mw"].to_numpy(dtype="float64", copy=True)
    demand[frame.index.searchsorted(start, "left") :] = np.nan
    frame["demand_mw"] = demand
    if (frame.index.get_indexer(index) < 0).any():  # targets without observations
        frame = frame.reindex(frame.index.union(index))
    # A weather forecast vintage issued at or before the start (as-of) takes precedence
    # over weather rows of the observations for the targets it covers.
    if found.values is not None:
        for column in found.values.columns:
            known = found.values[column].dropna()
            frame.loc[known.index, column] = known.to_numpy()
    covered = frame["temperature_c"].reindex(index).notna().all()
    if found.vintage is not None and covered and found.values["temperature_c"].notna().any():
        weather, note = "vintage", found.note
    elif covered:
        weather, note = "observations", ""
    else:
        weather, note = "none", found.note or "no weather forecast for the targets"
    return _Prepared(request, start, index, frame, weather, found.vintage, note[:200])


def _prepare_many(requests: list[ForecastRequest], results: list) -> list[tuple[int, _Prepared]]:
    """Validate and prepare every request; the observations of all their cities in one
    query, their weather forecasts in a few (a failing request gets its error in
    ``results``)."""
    checked = []
    for position, request in enumerate(requests):
        try:
            checked.append((position, request, *_validate(request)))
        except DomainError as exc:
            results[position] = exc
    # The history runs to the end of the last target's local day: the daily temperature
    # extremes the features read cover the whole day, as in training (a forecast ending
    # mid-day used to read them from part of it), and forecasts of one city then share
    # their history and one feature pass (training/features.py: feature_frames_for_items)
    # whatever hour they start at. One call per time zone.
    by_zone = defaultdict(list)
    for k, (_, request, _, _) in enumerate(checked):
        by_zone[request.city.timezone].append(k)
    day_ends = [0] * len(checked)
    for zone, members in by_zone.items():
        ends = local_day_ends([checked[k][3][-1] for k in members], zone)
        for k, end in zip(members, ends, strict=True):
            day_ends[k] = end
    valid = []
    for (position, request, start, index), day_end in zip(checked, day_ends, strict=True):
        end = max(
            index[-1] + pd.Timedelta(minutes=request.city.resolution_minutes),
            pd.Timestamp(day_end, tz="UTC"),
        )
        valid.append(
            (position, request, start, index, start - pd.Timedelta(days=HISTORY_DAYS), end)
        )
    frames = observation_frames_for_windows(
        [(r.city.pk, first, end) for _, r, _, _, first, end in valid]
    )
    weather = weather_for_forecasts([(r.city, start, index) for _, r, start, index, _, _ in valid])
    prepared = []
    for (position, request, start, index, first, end), found in zip(valid, weather, strict=True):
        city_frame = frames[request.city.pk]
        times = city_frame.index
        a, b = times.searchsorted(first, "left"), times.searchsorted(end, "left")
        try:
            prepared.append(
                (position, _prepare(request, start, index, city_frame.iloc[a:b].copy(), found))
            )
        except DomainError as exc:
            results[position] = exc
    return prepared


def _model_usable(prepared: _Prepared) -> tuple[bool, str]:
    demand = prepared.history["demand_mw"].dropna()
    week = demand[demand.index >= prepared.start - pd.Timedelta(days=7)]
    expected = 7 * 24 * 60 / prepared.request.city.resolution_minutes
    coverage = len(week) / expected
    if coverage < MODEL_MIN_LAG_COVERAGE:
        return False, (
            f"only {coverage:.0%} of the week before the start has demand data; "
            "the model's lags need a full week"
        )
    return True, ""


def _fallback(prepared: _Prepared, reason: str) -> ForecastResult:
    request = prepared.request
    values = seasonal_profile_forecast(
        prepared.history, prepared.index, prepared.start, request.city, tuple(request.quantiles)
    )
    return ForecastResult(
        key=request.key,
        index=prepared.index,
        values=_non_crossing(values),
        method=FALLBACK_METHOD,
        model_version=None,
        quality="fallback",
        quality_reason=reason[:200],
        weather="none",
        weather_note=prepared.weather_note,
    )


def _fallback_or_error(prepared: _Prepared, reason: str) -> ForecastResult | DomainError:
    try:
        return _fallback(prepared, reason)
    except DomainError as exc:
        return exc


def _non_crossing(values: dict[float, np.ndarray]) -> dict[float, np.ndarray]:
    order = sorted(values)
    stacked = np.sort(np.column_stack([values[q] for q in order]), axis=1)
    return {q: stacked[:, i] for i, q in enumerate(order)}


def _predict_group(model_version: ModelVersion, group: list[_Prepared]) -> list[ForecastResult]:
    """One model call per member family for every request on this model version."""
    model = artifact_load(model_version)
    predictions = model.predict_many([(p.history, p.index, p.start) for p in group])
    column = {q: i for i, q in enumerate(model.quantiles)}
    shifts = live_shift(model_version, model.quantiles)
    results = []
    for prepared, rows in zip(group, predictions, strict=True):
        name = model.variant_for(prepared.history, prepared.index)
        variant = model.variants[name]
        applied = {}
        if shifts:
            origins = pd.DatetimeIndex([prepared.start] * len(prepared.index))
            leads = lead_days(prepared.index, origins, model.timezone)
            rows = rows.copy()
            for lead, shift in shifts.items():
                at = leads == lead
                if at.any():
                    rows[at] = np.sort(rows[at] + shift, axis=1)
                    applied[str(lead)] = {
                        str(q): round(float(v), 3)
                        for q, v in zip(model.quantiles, shift, strict=True)
                    }
        weather = prepared.weather if name == WEATHER else "none"
        results.append(
            ForecastResult(
                key=prepared.request.key,
                index=prepared.index,
                values={q: rows[:, column[q]] for q in sorted(prepared.request.quantiles)},
                method=variant.algorithm,
                model_version=model_version,
                quality="normal",
                quality_reason="",
                weather=weather,
                weather_vintage=prepared.weather_vintage if weather == "vintage" else None,
                weather_note=prepared.weather_note if weather == "none" else "",
                calibration_shift=applied,
            )
        )
    return results


def live_shift(model_version: ModelVersion, quantiles) -> dict[int, np.ndarray]:
    """The live interval shift by lead day (MW per quantile), refreshed from the city's
    issued forecasts against the actuals that arrived (forecasts/live_accuracy.py)."""
    stored = (model_version.live_calibration or {}).get("shift_mw_by_lead") or {}
    return {
        int(lead): np.array([float(by_q.get(str(q), 0.0)) for q in quantiles])
        for lead, by_q in stored.items()
    }


def forecast_many(requests: list[ForecastRequest]) -> list[ForecastResult | DomainError]:
    """Answer every request, in order; a failing request gets its DomainError in its slot."""
    results: list[ForecastResult | DomainError | None] = [None] * len(requests)
    active = model_versions_active_for_cities(r.city.pk for r in requests)
    groups: dict[int, list[tuple[int, _Prepared]]] = defaultdict(list)
    for position, prepared in _prepare_many(requests, results):
        try:
            model_version = active.get(prepared.request.city.pk)
            usable, reason = _model_usable(prepared)
            if model_version is not None and usable:
                groups[model_version.pk].append((position, prepared))
                continue
            reason = reason if model_version is not None else "no active model for this city"
            results[position] = _fallback(prepared, reason)
        except DomainError as exc:
            results[position] = exc
    by_pk = {mv.pk: mv for mv in active.values()}
    for pk, members in groups.items():
        try:
            answers = _predict_group(by_pk[pk], [p for _, p in members])
        except Exception:
            # A missing or unreadable artifact must not leave these cities without a forecast.
            log.exception("model_predict_failed", model_version=pk)
            answers = [
                _fallback_or_error(p, "the active model could not be used") for _, p in members
            ]
        for (position, _), answer in zip(members, answers, strict=True):
            results[position] = answer
    log.info("forecast_many", requests=len(requests), model_groups=len(groups))
    return results  # type: ignore[return-value]
