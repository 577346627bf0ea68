"""Live accuracy and calibration of the city's model versions between retrains.

After each upload of actuals (cities/signals.py: ``observations_stored``, connected in
forecasts/apps.py):

- each model version that issued forecasts is scored on them: the first 24 hours of
  each run (the day-ahead forecast the backtest scores), the latest run per interval,
  over the LIVE_DAYS before the city's latest observation. The figures (MAPE %, 90 %
  coverage %, pinball MW, points) go to ``ModelVersion.live_metrics``, next to the
  backtest's in ``metrics``;
- the interval shift inference adds to the city's forecasts is refreshed, per lead day
  1..7 (``ModelVersion.live_calibration``): adaptive conformal inference
  (training/calibration.py: ``adaptive_shift``, the backtest's rule) on the city's
  issued forecasts at that lead, whichever version issued them, without the shift they
  were issued with; at days 2..7 only the band's ends move (``lead_day_shift``). Like
  the backtest's adaptive levels, it carries over retrains: a new version starts from
  the city's current shift. Cheap: no refit, a few thousand points per lead.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import structlog
from django.utils import timezone

from cities.models import City
from cities.selectors import observation_frame_for_city
from forecasts.models import Forecast, ForecastRun
from training.backtest import forecast_scores
from training.calibration import adaptive_shift, lead_day_shift
from training.models import ModelVersion
from training.services import model_version_live_record

log = structlog.get_logger(__name__)

DAY = pd.Timedelta(hours=24)
LEADS = range(1, 8)
# Issued forecasts of this many days before the city's latest observation are used.
LIVE_DAYS = 56
BAND = (0.05, 0.5, 0.95)


def _scored_since(city: City):
    """LIVE_DAYS before the city's latest observation (not the clock: a city whose data
    is replayed, like the benchmarks' 2014, is scored on its own timeline)."""
    latest = city.last_observation or timezone.now()
    return latest - pd.Timedelta(days=LIVE_DAYS)


def _issued_points(city: City, since) -> pd.DataFrame:
    """The city's issued points with an actual: one row per (interval, lead day), the
    latest run's; columns timestamp, lead, version, issued (quantile -> MW), shift
    (quantile -> MW at issue), actual."""
    rows = (
        Forecast.objects.filter(
            city=city, run__quality=ForecastRun.Quality.NORMAL, timestamp__gte=since
        )
        .order_by("timestamp", "run__start", "run__issued_at", "run_id")
        .values_list(
            "timestamp", "run__start", "run__model_version", "quantiles", "run__calibration_shift"
        )
    )
    records = []
    for ts, start, version, quantiles, shift in rows:
        if not all(str(q) in quantiles for q in BAND):
            continue
        lead = int((ts - start) // DAY) + 1
        records.append((ts, lead, version, quantiles, (shift or {}).get(str(lead), {})))
    if not records:
        return pd.DataFrame()
    frame = pd.DataFrame.from_records(
        records, columns=["timestamp", "lead", "version", "quantiles", "shift"]
    )
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True)
    frame = frame.drop_duplicates(["timestamp", "lead"], keep="last")
    step = pd.Timedelta(minutes=city.resolution_minutes)
    demand = observation_frame_for_city(
        city, start=frame["timestamp"].min(), end=frame["timestamp"].max() + step
    )["demand_mw"]
    frame["actual"] = demand.reindex(pd.DatetimeIndex(frame["timestamp"])).to_numpy()
    return frame[frame["actual"].notna() & (frame["actual"] > 0)]


def _matrix(frame: pd.DataFrame, column: str, quantiles) -> np.ndarray:
    return np.array([[float(row.get(str(q), 0.0)) for q in quantiles] for row in frame[column]])


def live_figures(issued, base, actual, days, quantiles) -> tuple[dict, np.ndarray]:
    """Scores of the issued forecasts and the shift tracked from ``base`` (no shift)."""
    scores = forecast_scores(actual, issued, tuple(quantiles))
    return scores, adaptive_shift(base, actual, days, quantiles)


def city_live_shift(city: City, points: pd.DataFrame, quantiles) -> dict:
    """{lead: {quantile: MW}} from the city's issued points at each lead day."""
    by_lead = {}
    for lead in LEADS:
        rows = points[points["lead"] == lead]
        if rows.empty:
            continue
        issued = _matrix(rows, "quantiles", BAND)
        base = issued - _matrix(rows, "shift", BAND)
        local = pd.DatetimeIndex(rows["timestamp"]).tz_convert(city.timezone).tz_localize(None)
        shift = lead_day_shift(
            base, rows["actual"].to_numpy(dtype="float64"), local.normalize().asi8, BAND, lead
        )
        # Quantiles the runs did not carry get the shift interpolated between their
        # neighbours' (flat beyond the band).
        by_lead[str(lead)] = {
            str(q): round(float(v), 3)
            for q, v in zip(quantiles, np.interp(quantiles, BAND, shift), strict=True)
        }
    return by_lead


def model_version_live_refresh(model_version: ModelVersion, points: pd.DataFrame, shift) -> dict:
    """Score the version's issued first-day forecasts; store them and the city's shift."""
    own = points[(points["version"] == model_version.pk) & (points["lead"] == 1)]
    own = own.sort_values("timestamp").drop_duplicates("timestamp", keep="last")
    live = {}
    if not own.empty:
        issued = _matrix(own, "quantiles", BAND)
        scores = forecast_scores(own["actual"].to_numpy(dtype="float64"), issued, BAND)
        local = pd.DatetimeIndex(own["timestamp"]).tz_convert(model_version.city.timezone)
        live = {
            "mape": scores["mape"],
            "coverage_90": scores["coverage_90"],
            "pinball": scores["pinball"],
            "points": scores["points"],
            "days": int(local.tz_localize(None).normalize().nunique()),
            "first": own["timestamp"].min().isoformat(),
            "last": own["timestamp"].max().isoformat(),
            "updated_at": timezone.now().isoformat(),
        }
    calibration = (
        {
            "method": "adaptive conformal inference by lead day on the city's issued forecasts",
            "shift_mw_by_lead": shift,
            "points": int(len(points)),
            "updated_at": timezone.now().isoformat(),
        }
        if shift
        else {}
    )
    model_version_live_record(
        model_version,
        live_metrics=live or model_version.live_metrics,
        live_calibration=calibration or model_version.live_calibration,
    )
    return live


def city_live_refresh(*, city_id: int) -> int:
    """After actuals arrived for the city: refresh the shift of its active version and
    the live figures of every version that issued forecasts in the scored period. Never
    raises: an upload is never failed by its bookkeeping."""
    try:
        city = City.objects.filter(pk=city_id).first()
        if city is None:
            return 0
        points = _issued_points(city, _scored_since(city))
        if points.empty:
            return 0
        versions = ModelVersion.objects.filter(city=city).filter(
            pk__in=set(points["version"].dropna().astype(int))
        ) | ModelVersion.objects.filter(city=city, status=ModelVersion.Status.ACTIVE)
        refreshed = 0
        for model_version in versions.distinct().select_related("city"):
            quantiles = sorted(float(q) for q in model_version.quantiles) or list(BAND)
            shift = city_live_shift(city, points, quantiles)
            model_version_live_refresh(model_version, points, shift)
            refreshed += 1
        return refreshed
    except Exception:
        log.exception("live_refresh_failed", city=city_id)
        return 0
