"""The CatBoost multi-quantile model: one model, one predict call, every quantile.

The target is demand relative to the mean of the 24 hours before the origin: trees
cannot extrapolate, and a ratio lets a model trained on spring predict a hotter,
busier summer level. Quantiles of the ratio times a known positive level are the
quantiles of demand. Intervals are calibrated afterwards (training/calibration.py) on
out-of-sample backtest forecasts: boosted quantile tails are overconfident in sample.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from catboost import CatBoostRegressor

from training.features import FEATURE_COLUMNS
from training.quantiles import DEFAULT_QUANTILES, SUPPORTED_QUANTILES

ALGORITHM = "catboost-multiquantile"
RANDOM_SEED = 20140101
# Tuned on 2014-01-08 .. 2014-09-10 -> 2014-09-11 .. 2014-11-05 (before bench's test weeks).
DEFAULT_PARAMS = {
    "depth": 6,
    "learning_rate": 0.08,
    "l2_leaf_reg": 3.0,
    "target": "ratio_lag_day",
    # The no-weather model (rolling validation on 2014-09-11 .. 2014-11-05, see
    # docs/benchmarks.md): shallower trees, and the mean of
    # three boosters with consecutive seeds (one seed's MAPE varies by ~0.1 point).
    "no_weather": {"depth": 4, "seeds": 3},
}
# The booster learns the default band's three quantiles (three times faster than seven,
# as accurate); the others are interpolated with a normal shape, then every one is
# calibrated conformally.
BOOSTED_QUANTILES: tuple[float, ...] = DEFAULT_QUANTILES
DEFAULT_ITERATIONS = 400  # what production trains with (settings.TRAINING_ITERATIONS)
NORMAL_Z = {
    0.05: -1.6449,
    0.1: -1.2816,
    0.25: -0.6745,
    0.5: 0.0,
    0.75: 0.6745,
    0.9: 1.2816,
    0.95: 1.6449,
}
LEVEL_COLUMN = "demand_mean_24h"
# What the booster predicts: demand divided by one of these known levels, or demand.
TARGET_LEVELS = {"ratio_mean": "demand_mean_24h", "ratio_lag_day": "demand_lag_day"}


def model_params(iterations: int = DEFAULT_ITERATIONS, **overrides) -> dict:
    """The configuration stored with a model version and used to re-run it."""
    return {"iterations": int(iterations), **DEFAULT_PARAMS, **overrides}


@dataclass
class QuantileModel:
    """A fitted model with the quantiles and feature order it was trained with."""

    booster: CatBoostRegressor
    quantiles: tuple[float, ...]
    features: list[str]
    level_column: str | None = LEVEL_COLUMN  # the booster predicts demand / this column
    # Boosters of the same data with other seeds; the prediction is the mean of all.
    extra_boosters: tuple[CatBoostRegressor, ...] = ()

    def predict_raw(self, features: pd.DataFrame) -> np.ndarray:
        """(rows, SUPPORTED_QUANTILES) in MW, uncalibrated and unsorted."""
        if len(features) == 0:
            return np.zeros((0, len(SUPPORTED_QUANTILES)))
        x = features[self.features]
        boosters = (self.booster, *self.extra_boosters)
        raw = sum(np.asarray(b.predict(x), dtype="float64") for b in boosters) / len(boosters)
        raw = raw.reshape(len(features), len(self.quantiles))
        if self.level_column:
            raw = raw * features[self.level_column].to_numpy(dtype="float64")[:, None]
        return expand_quantiles(raw, self.quantiles)

    def predict(self, features: pd.DataFrame) -> np.ndarray:
        """(rows, quantiles) in MW, sorted along the quantile axis so bands never cross."""
        return np.sort(self.predict_raw(features), axis=1)

    def feature_importance(self) -> dict[str, float]:
        boosters = (self.booster, *self.extra_boosters)
        values = sum(b.get_feature_importance() for b in boosters) / len(boosters)
        return {name: round(float(v), 4) for name, v in zip(self.features, values, strict=True)}


def expand_quantiles(raw: np.ndarray, quantiles: tuple[float, ...]) -> np.ndarray:
    """SUPPORTED_QUANTILES from (0.05, 0.5, 0.95) with each tail's spread, normal-shaped."""
    if tuple(quantiles) == SUPPORTED_QUANTILES:
        return raw
    column = {q: i for i, q in enumerate(quantiles)}
    median = raw[:, column[0.5]]
    lower = (median - raw[:, column[0.05]]) / -NORMAL_Z[0.05]
    upper = (raw[:, column[0.95]] - median) / NORMAL_Z[0.95]
    out = [
        raw[:, column[q]] if q in column else median + NORMAL_Z[q] * (lower if q < 0.5 else upper)
        for q in SUPPORTED_QUANTILES
    ]
    return np.column_stack(out)


def _regressor(params: dict, quantiles: tuple[float, ...], seed: int = 0) -> CatBoostRegressor:
    alphas = ",".join(f"{q:g}" for q in quantiles)
    return CatBoostRegressor(
        loss_function=f"MultiQuantile:alpha={alphas}",
        iterations=params["iterations"],
        depth=params["depth"],
        learning_rate=params["learning_rate"],
        l2_leaf_reg=params["l2_leaf_reg"],
        thread_count=2,
        random_seed=params.get("random_seed", RANDOM_SEED) + seed,
        allow_writing_files=False,
        verbose=False,
    )


def model_fit(
    features: pd.DataFrame,
    target: pd.Series,
    params: dict | None = None,
    quantiles: tuple[float, ...] = BOOSTED_QUANTILES,
    columns: list[str] | None = None,
) -> QuantileModel:
    """Fit one multi-quantile booster on ``columns`` (default: every feature)."""
    params = params or model_params()
    columns = list(columns or FEATURE_COLUMNS)
    level_column = TARGET_LEVELS.get(params.get("target", "ratio_mean"))
    y = target.to_numpy(dtype="float64")
    usable = np.isfinite(y)
    if level_column:
        level = features[level_column].to_numpy(dtype="float64")
        usable &= np.isfinite(level) & (level > 0)
        y = np.divide(y, level, out=np.full_like(y, np.nan), where=usable)
    boosters = []
    for seed in range(max(int(params.get("seeds", 1)), 1)):
        booster = _regressor(params, tuple(quantiles), seed)
        booster.fit(features.loc[usable, columns], y[usable])
        boosters.append(booster)
    return QuantileModel(boosters[0], tuple(quantiles), columns, level_column, tuple(boosters[1:]))
