"""Live accuracy and calibration of each model version between retrains.

After each upload of actuals (cities/signals.py: ``observations_stored``, connected in
forecasts/apps.py), the city's model versions are scored on the forecasts they issued
for the intervals whose actual demand has now arrived: the first 24 hours of each run
(the day-ahead forecast the backtest scores), the latest run per interval. The figures
(MAPE %, 90 % coverage %, pinball MW, points) go to ``ModelVersion.live_metrics``,
next to the backtest's in ``metrics``.

The same points refresh the interval shift inference adds to the version's first 24
hours (``ModelVersion.live_calibration``): adaptive conformal inference (Gibbs &
Candes, 2021; the backtest's training/calibration.py ``adapted_levels``), one step per
local day with the backtest's rate, run on the version's own forecasts without the
shift they were issued with, and turned into MW through the band's width (a level
step of d moves a quantile by about d / density at that quantile, the density of a
normal error with the band's width). Cheap: no refit, a few thousand points.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import structlog
from django.utils import timezone
from scipy.stats import norm

from cities.models import City
from cities.selectors import observation_frame_for_city
from forecasts.models import Forecast, ForecastRun
from training.backtest import forecast_scores
from training.calibration import ADAPT_RATE, MIN_LEVEL
from training.models import ModelVersion
from training.services import model_version_live_record

log = structlog.get_logger(__name__)

FIRST_DAY = pd.Timedelta(hours=24)
# At most this many recent days of issued forecasts are scored (and tracked).
LIVE_DAYS = 56
BAND = (0.05, 0.95)
# z-width of the nominal 5 %-95 % band of a normal error.
BAND_Z = norm.ppf(BAND[1]) - norm.ppf(BAND[0])


def _scored_since(city: City):
    """LIVE_DAYS before the city's latest observation (not the clock: a city whose data
    is replayed, like the benchmarks' 2014, is scored on its own timeline)."""
    latest = city.last_observation or timezone.now()
    return latest - pd.Timedelta(days=LIVE_DAYS)


def _issued_points(model_version: ModelVersion, since) -> pd.DataFrame:
    """One row per interval: the latest first-day point this version issued for it."""
    rows = (
        Forecast.objects.filter(
            run__model_version=model_version,
            run__quality=ForecastRun.Quality.NORMAL,
            timestamp__gte=since,
        )
        .order_by("timestamp", "run__start", "run__issued_at", "run_id")
        .values_list("timestamp", "run__start", "quantiles", "run__calibration_shift")
    )
    records = [
        (ts, quantiles, shift or {})
        for ts, start, quantiles, shift in rows
        if ts - start < FIRST_DAY and all(str(q) in quantiles for q in (*BAND, 0.5))
    ]
    if not records:
        return pd.DataFrame()
    frame = pd.DataFrame.from_records(records, columns=["timestamp", "quantiles", "shift"])
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True)
    return frame.drop_duplicates("timestamp", keep="last").set_index("timestamp")


def live_figures(
    issued: np.ndarray, base: np.ndarray, actual: np.ndarray, days: np.ndarray, quantiles
) -> tuple[dict, np.ndarray]:
    """Scores of the issued forecasts, and the tracked shift (MW per quantile).

    ``issued``, ``base``: (points, quantiles) MW as issued, and without the shift they
    were issued with; ``days``: the local day of each point (tracking steps by day).
    """
    quantiles = np.asarray(quantiles, dtype="float64")
    scores = forecast_scores(actual, issued, tuple(quantiles))
    levels = quantiles.copy()
    shift = np.zeros(len(quantiles))
    low, high = list(quantiles).index(BAND[0]), list(quantiles).index(BAND[1])
    for day in np.unique(days):
        rows = days == day
        forecast = np.sort(base[rows] + shift, axis=1)
        below = (actual[rows, None] < forecast).mean(axis=0)
        levels = np.clip(levels + ADAPT_RATE * (quantiles - below), MIN_LEVEL, 1 - MIN_LEVEL)
        width = float(np.mean(base[rows, high] - base[rows, low]))
        sigma = max(width, 0.0) / BAND_Z
        # The level's displacement from nominal, in MW at the quantile.
        shift = sigma * (norm.ppf(levels) - norm.ppf(quantiles))
    return scores, shift


def model_version_live_refresh(model_version: ModelVersion) -> dict:
    """Score the version's issued first-day forecasts and refresh its interval shift."""
    city: City = model_version.city
    since = _scored_since(city)
    points = _issued_points(model_version, since)
    if points.empty:
        return {}
    step = pd.Timedelta(minutes=city.resolution_minutes)
    observed = observation_frame_for_city(
        city, start=points.index.min(), end=points.index.max() + step
    )["demand_mw"]
    actual = observed.reindex(points.index)
    points = points[actual.notna().to_numpy() & (actual.to_numpy() > 0)]
    if points.empty:
        return {}
    actual = actual.reindex(points.index).to_numpy(dtype="float64")
    quantiles = sorted(float(q) for q in points["quantiles"].iloc[0])
    keep = points["quantiles"].map(lambda q: all(str(x) in q for x in quantiles)).to_numpy()
    points, actual = points[keep], actual[keep]
    issued = np.array([[row[str(q)] for q in quantiles] for row in points["quantiles"]])
    shift_then = np.array([[float(s.get(str(q), 0.0)) for q in quantiles] for s in points["shift"]])
    days = points.index.tz_convert(city.timezone).tz_localize(None).normalize().asi8
    scores, shift = live_figures(issued, issued - shift_then, actual, days, quantiles)
    now = timezone.now().isoformat()
    live = {
        "mape": scores["mape"],
        "coverage_90": scores["coverage_90"],
        "pinball": scores["pinball"],
        "points": scores["points"],
        "days": int(len(np.unique(days))),
        "first": points.index.min().isoformat(),
        "last": points.index.max().isoformat(),
        "updated_at": now,
    }
    # Quantiles the runs did not carry get the shift interpolated between their neighbours'.
    model_quantiles = sorted(float(q) for q in model_version.quantiles) or quantiles
    shift_all = np.interp(model_quantiles, quantiles, shift)
    calibration = {
        "method": "adaptive conformal (levels by local day), issued first-day forecasts",
        "shift_mw": {
            str(q): round(float(v), 3) for q, v in zip(model_quantiles, shift_all, strict=True)
        },
        "points": scores["points"],
        "updated_at": now,
    }
    model_version_live_record(model_version, live_metrics=live, live_calibration=calibration)
    return live


def city_live_refresh(*, city_id: int) -> int:
    """After actuals arrived for the city: refresh every version that issued forecasts
    in the scored period (the active one first). Never raises: an upload is never failed
    by its bookkeeping."""
    refreshed = 0
    city = City.objects.filter(pk=city_id).first()
    if city is None:
        return 0
    since = _scored_since(city)
    versions = ModelVersion.objects.filter(
        city_id=city_id, forecast_runs__start__gte=since - FIRST_DAY
    ).distinct()
    for model_version in versions.select_related("city"):
        try:
            if model_version_live_refresh(model_version):
                refreshed += 1
        except Exception:
            log.exception("live_refresh_failed", model_version=model_version.pk)
    return refreshed
