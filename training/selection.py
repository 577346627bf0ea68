"""From raw backtest forecasts to scored, calibrated candidates and the city's choice.

Candidates are every family on its own plus weighted ensembles of the gradient
boosting model with the statistical model and (with weather) with the regression.
For each day D of the window, the ensemble weight and the conformal offsets are
learned from the out-of-sample forecasts of the ``calibration_days`` before D only,
then applied to D: the scores are those of a forecaster that calibrates itself as it
goes. The deployed model gets
the weight and offsets of the last ``calibration_days`` of the backtest.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from training.backtest import RollingForecasts, forecast_scores
from training.calibration import adapted_levels, calibrate, calibration_offsets
from training.families.base import QUANTILES

ENSEMBLE = "ensemble"
# Gradient boosting + the temperature regression: the regression's smooth temperature
# response corrects trees on the rare hot and cold days (rolling validation on
# 2014-09-11 .. 2014-11-05: MAPE 2.58 -> 2.50 %, paired on the same booster forecasts).
ENSEMBLE_REGRESSION = "ensemble-regression"
REGRESSION = "vanilla-regression"
NAIVE = "seasonal-naive"
STATISTICAL = "mstl-ets"
WEIGHT_GRID = np.round(np.linspace(0.0, 1.0, 11), 2)
# Families too slow for a 50 ms day-ahead answer (MSTL decomposes three weeks of demand
# per forecast: 60-75 ms with its loess jumps, bench/mstl_speed.py). A candidate using
# one is selected only if its MAPE is lower than the best fast candidate's by more than
# this share.
SLOW_FAMILIES = {STATISTICAL}
SLOW_MODEL_MARGIN = 0.05
MEDIAN = QUANTILES.index(0.5)


@dataclass
class Candidate:
    name: str
    members: list[str]
    scores: dict
    weights: list[float]  # for deployment: learned on the last calibration days
    offsets: np.ndarray  # (24, QUANTILES) MW, idem
    calibrated: np.ndarray  # window rows, for inspection

    def as_dict(self) -> dict:
        return {"members": self.members, "weights": self.weights, **self.scores}


def candidate_members(
    forecasts: dict[str, RollingForecasts], uses_weather: dict[str, bool], with_weather: bool
):
    """name -> member families of each candidate of a variant."""
    names = [n for n in forecasts if with_weather or not uses_weather[n]]
    candidates = {name: [name] for name in names}
    booster = "catboost" if with_weather else "catboost-no-weather"
    if booster in names and STATISTICAL in names:
        candidates[ENSEMBLE] = [booster, STATISTICAL]
    if booster in names and REGRESSION in names:  # the regression needs weather
        candidates[ENSEMBLE_REGRESSION] = [booster, REGRESSION]
    return candidates


def _combine(raws: list[np.ndarray], weights: list[float]) -> np.ndarray:
    return sum(w * r for w, r in zip(weights, raws, strict=True))


def _mape(median: np.ndarray, actual: np.ndarray) -> float:
    return float(np.mean(np.abs(median - actual) / np.abs(actual)))


def _postprocessing(raws, actual, hours, rows, levels=QUANTILES) -> tuple[list[float], np.ndarray]:
    """Ensemble weights (best MAPE on ``rows``) and per-hour offsets of the result."""
    if len(raws) == 1:
        weights = [1.0]
    else:  # two members: a weight grid is enough and cannot overfit much
        a, b = raws[0][rows, MEDIAN], raws[1][rows, MEDIAN]
        errors = [_mape(w * a + (1 - w) * b, actual[rows]) for w in WEIGHT_GRID]
        best = float(WEIGHT_GRID[int(np.argmin(errors))])
        weights = [best, round(1 - best, 2)]
    combined = _combine([r[rows] for r in raws], weights)
    return weights, calibration_offsets(combined, actual[rows], hours[rows], levels)


def evaluate_candidate(
    name: str,
    members: list[str],
    forecasts: dict[str, RollingForecasts],
    city,
    window_start: pd.Timestamp,
    window_end: pd.Timestamp,
    calibration_days: int,
) -> Candidate:
    reference = forecasts[members[0]]
    raws = [forecasts[m].raw for m in members]
    actual, hours = reference.actual, reference.local_hours(city)
    origin_ns = reference.row_origins_ns()
    span = pd.Timedelta(days=calibration_days).value
    calibrated = np.full_like(raws[0], np.nan)
    combined_raw = np.full_like(raws[0], np.nan)
    levels = np.array(QUANTILES)
    for d, origin in enumerate(reference.origins):
        today = reference.day == d
        past = (origin_ns >= origin.value - span) & (origin_ns < origin.value)
        if past.sum() >= 24:
            weights, offsets = _postprocessing(raws, actual, hours, past, levels)
        else:
            weights, offsets = [1.0 / len(raws)] * len(raws), None
        combined_raw[today] = _combine([r[today] for r in raws], weights)
        calibrated[today] = calibrate(combined_raw[today], hours[today], offsets)
        if offsets is not None:  # the day is over: adapt the levels to how it went
            levels = adapted_levels(levels, QUANTILES, calibrated[today], actual[today])
    window = (origin_ns >= window_start.value) & (origin_ns < window_end.value)
    scores = forecast_scores(actual[window], calibrated[window])
    lower, upper = combined_raw[window, 0], combined_raw[window, -1]
    inside = (actual[window] >= lower) & (actual[window] <= upper)
    scores["coverage_90_raw"] = round(float(inside.mean() * 100), 2)
    last = origin_ns >= window_end.value - span
    weights, offsets = _postprocessing(raws, actual, hours, last, levels)
    return Candidate(name, members, scores, weights, offsets, calibrated[window])


def evaluate_variant(
    forecasts: dict[str, RollingForecasts],
    uses_weather: dict[str, bool],
    *,
    with_weather: bool,
    city,
    window_start: pd.Timestamp,
    window_end: pd.Timestamp,
    calibration_days: int,
) -> tuple[str, dict[str, Candidate]]:
    """Every candidate of the variant, scored; the selected one has the lowest MAPE."""
    candidates = {
        name: evaluate_candidate(
            name, members, forecasts, city, window_start, window_end, calibration_days
        )
        for name, members in candidate_members(forecasts, uses_weather, with_weather).items()
    }
    naive = candidates.get(NAIVE)
    for candidate in candidates.values():
        if naive is not None:
            candidate.scores["skill_mape"] = round(
                1 - candidate.scores["mape"] / naive.scores["mape"], 4
            )
            candidate.scores["skill_pinball"] = round(
                1 - candidate.scores["pinball"] / naive.scores["pinball"], 4
            )
    return select(candidates), candidates


def selection_reason(candidates: dict[str, Candidate], selected: str) -> str:
    """Why ``select`` chose ``selected``, in words stored on the model version."""

    def label(n: str) -> str:
        return f"{n} {candidates[n].scores['mape']:.2f} %"

    ranked = sorted(candidates, key=lambda n: candidates[n].scores["mape"])
    text = (
        f"lowest backtest MAPE of {len(candidates)} candidates: {label(selected)}"
        if ranked[0] == selected
        else f"{label(selected)}, the best fast candidate"
    )
    if ranked[0] != selected:
        margin = 1 - candidates[ranked[0]].scores["mape"] / candidates[selected].scores["mape"]
        text += (
            f"; {label(ranked[0])} is better by {margin:.1%} of its MAPE, not the "
            f"{SLOW_MODEL_MARGIN:.0%} a slow model ({', '.join(sorted(SLOW_FAMILIES))}) must win by"
        )
    others = [n for n in ranked if n != selected][:2]
    if others:
        text += "; next: " + ", ".join(label(n) for n in others)
    return text


def select(candidates: dict[str, Candidate]) -> str:
    """Lowest MAPE (then pinball); a slow candidate must win by SLOW_MODEL_MARGIN."""

    def best(names) -> str:
        return min(
            names, key=lambda n: (candidates[n].scores["mape"], candidates[n].scores["pinball"])
        )

    overall = best(candidates)
    fast = [n for n in candidates if not SLOW_FAMILIES & set(candidates[n].members)]
    if not fast or overall in fast:
        return overall
    fast_best = best(fast)
    margin = 1 - candidates[overall].scores["mape"] / candidates[fast_best].scores["mape"]
    return overall if margin > SLOW_MODEL_MARGIN else fast_best
