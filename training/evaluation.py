"""Backtest every model family of a city and score its candidates (one call).

Used by training (to choose, calibrate and register a model version) and by
bench/accuracy.py (to print the accuracy table), so both measure the same thing.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import structlog

from errors import Unprocessable
from training.backtest import (
    MIN_TRAINING_DAYS,
    BacktestWindow,
    RollingForecasts,
    WeatherAsOf,
    local_days_before,
    rolling_origin_forecasts,
)
from training.families import Family, families_for
from training.selection import (
    Candidate,
    candidate_members,
    evaluate_variant,
    selection_reason,
)

log = structlog.get_logger(__name__)

WEATHER, NO_WEATHER = "weather", "no_weather"
# Weather is usable when most of the recent history has it.
MIN_WEATHER_SHARE = 0.9


def has_weather(history: pd.DataFrame, since: pd.Timestamp) -> bool:
    if "temperature_c" not in history:
        return False
    recent = history.loc[history.index >= since, "temperature_c"]
    return len(recent) > 0 and float(recent.notna().mean()) >= MIN_WEATHER_SHARE


@dataclass
class Evaluation:
    window: BacktestWindow
    calibration_days: int
    refit_days: int
    forecasts: dict[str, RollingForecasts]
    families: dict[str, Family]
    variants: dict[str, tuple[str, dict[str, Candidate]]] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)

    def selected(self, variant: str) -> Candidate:
        name, candidates = self.variants[variant]
        return candidates[name]

    def primary_variant(self) -> str:
        return WEATHER if WEATHER in self.variants else NO_WEATHER

    def uses_weather(self) -> dict[str, bool]:
        return {name: family.uses_weather for name, family in self.families.items()}

    def variant_scored(
        self,
        city,
        *,
        with_weather: bool,
        window_start: pd.Timestamp,
        window_end: pd.Timestamp,
        calibration_days: int,
    ) -> tuple[str, dict[str, Candidate]]:
        """The candidates of a variant scored on [window_start, window_end) of these
        forecasts, and the selected one (the variants of the run use its own window;
        bench/accuracy.py scores other windows, as a weekly training would)."""
        return evaluate_variant(
            self.forecasts,
            self.uses_weather(),
            with_weather=with_weather,
            city=city,
            window_start=window_start,
            window_end=window_end,
            calibration_days=calibration_days,
        )

    def metrics(self) -> dict:
        """JSON for the model version: every candidate's scores and what was chosen."""
        primary = self.selected(self.primary_variant())
        naive = self.variants.get(NO_WEATHER, (None, {}))[1].get("seasonal-naive")
        return {
            "window": self.window.as_dict(),
            "protocol": (
                f"rolling origin, day-ahead from each local midnight, refit every "
                f"{self.refit_days} days, ex-post weather; intervals calibrated by hour of day "
                f"on the {self.calibration_days} days of out-of-sample forecasts before each day"
            ),
            "model": {"candidate": primary.name, **primary.scores},
            "seasonal_naive": naive.scores if naive else {},
            "variants": {
                variant: {
                    "selected": name,
                    "reason": selection_reason(candidates, name),
                    "candidates": {n: c.as_dict() for n, c in candidates.items()},
                }
                for variant, (name, candidates) in self.variants.items()
            },
            "fit_seconds": {
                name: round(float(np.mean(f.fit_seconds)), 2) for name, f in self.forecasts.items()
            },
            "failed_families": self.failed,
        }


def _check_history(history, city, start: pd.Timestamp, window: BacktestWindow) -> None:
    """A week of lags plus MIN_TRAINING_DAYS before the first forecast, or a clear error."""
    demand = history["demand_mw"].dropna() if "demand_mw" in history else history.iloc[:0]
    before = int((demand.index < start).sum()) * city.resolution_minutes / (60 * 24)
    inside = int(((demand.index >= window.start) & (demand.index < window.end)).sum())
    if before - 7 < MIN_TRAINING_DAYS or inside == 0:
        raise Unprocessable(
            f"The backtest needs {MIN_TRAINING_DAYS} days of usable history (after a week of "
            f"lags) before its first forecast day {start.isoformat()}; found "
            f"{math.floor(before * 100) / 100:.2f} days before it and {inside} points in the "
            f"{window.days}-day window.",
            code="insufficient_data",
            details={"history_days": round(float(before), 1), "window": window.as_dict()},
        )


def evaluation_run(
    history: pd.DataFrame,
    city,
    *,
    window: BacktestWindow,
    params: dict,
    calibration_days: int,
    refit_days: int,
    only: set[str] | None = None,
    progress: Callable[[float], None] | None = None,
    weather: WeatherAsOf | None = None,
) -> Evaluation:
    """Rolling forecasts of each family over the calibration days and the window."""
    start = local_days_before(window.start, calibration_days, city)
    _check_history(history, city, start, window)
    with_weather = has_weather(history, start - pd.Timedelta(days=28))
    families = [
        f
        for f in families_for(with_weather=with_weather, params=params)
        if only is None or f.name in only
    ]
    forecasts, failed = {}, {}
    for i, family in enumerate(families):
        began = time.perf_counter()

        def step(share: float, i=i) -> None:
            if progress:
                progress((i + share) / len(families))

        try:
            forecasts[family.name] = rolling_origin_forecasts(
                history,
                city,
                family,
                start,
                window.end,
                refit_days=refit_days,
                progress=step,
                weather=weather,
            )
        except (ValueError, np.linalg.LinAlgError) as exc:  # a family that cannot run here
            failed[family.name] = str(exc)[:200]
            log.warning("family_backtest_failed", family=family.name, error=str(exc))
        log.info(
            "family_backtested", family=family.name, seconds=round(time.perf_counter() - began, 1)
        )
    if not forecasts:
        raise Unprocessable(
            f"No model family could be backtested: {failed}.", code="insufficient_data"
        )
    evaluation = Evaluation(
        window,
        calibration_days,
        refit_days,
        forecasts,
        {f.name: f for f in families},
        failed=failed,
    )
    for variant, weather in ((WEATHER, True), (NO_WEATHER, False)):
        if weather and not with_weather:
            continue
        if not candidate_members(forecasts, evaluation.uses_weather(), weather):
            continue  # e.g. a champion re-run of weather families only
        evaluation.variants[variant] = evaluation.variant_scored(
            city,
            with_weather=weather,
            window_start=window.start,
            window_end=window.end,
            calibration_days=calibration_days,
        )
    return evaluation
