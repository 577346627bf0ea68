"""The CatBoost multi-quantile model: one model, one predict call, every quantile.

Boosted quantile tails overfit: on the Victoria data the in-sample 90 % band covered
90 % of training rows but only 25-50 % of later days. So the bands are calibrated
conformally (CQR-style): a first fit leaves out the last CALIBRATION_DAYS, the
out-of-sample residuals there give a widening factor per central interval, and the
final fit on all rows applies it around its median (the median itself is untouched).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from catboost import CatBoostRegressor
from django.conf import settings

from training.features import FEATURE_COLUMNS

SUPPORTED_QUANTILES: tuple[float, ...] = (0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95)
ALGORITHM = "catboost-multiquantile"
RANDOM_SEED = 20140101
DEFAULT_PARAMS = {"depth": 6, "learning_rate": 0.08, "l2_leaf_reg": 3.0}
CALIBRATION_DAYS = 28
MIN_FIT_DAYS_FOR_CALIBRATION = 14
MAX_INTERVAL_SCALE = 10.0


def model_params(iterations: int | None = None, **overrides) -> dict:
    """The configuration stored with a model version and used to re-run it."""
    iterations = settings.TRAINING_ITERATIONS if iterations is None else iterations
    return {"iterations": int(iterations), **DEFAULT_PARAMS, **overrides}


@dataclass
class QuantileModel:
    """A fitted model with the quantiles and feature order it was trained with."""

    booster: CatBoostRegressor
    quantiles: tuple[float, ...]
    features: list[str]
    # Lower quantile of a central interval (as str, JSON-friendly) -> widening factor.
    interval_scales: dict[str, float] = field(default_factory=dict)

    def predict_raw(self, features: pd.DataFrame) -> np.ndarray:
        if len(features) == 0:
            return np.zeros((0, len(self.quantiles)))
        raw = np.asarray(self.booster.predict(features[self.features]), dtype="float64")
        return raw.reshape(len(features), len(self.quantiles))

    def predict(self, features: pd.DataFrame) -> np.ndarray:
        """(rows, quantiles) in MW, sorted along the quantile axis so bands never cross."""
        return np.sort(_widen(self.predict_raw(features), self.quantiles, self.interval_scales), 1)

    def feature_importance(self) -> dict[str, float]:
        values = self.booster.get_feature_importance()
        return {name: round(float(v), 4) for name, v in zip(self.features, values, strict=True)}


def _regressor(params: dict, quantiles: tuple[float, ...]) -> CatBoostRegressor:
    alphas = ",".join(f"{q:g}" for q in quantiles)
    return CatBoostRegressor(
        loss_function=f"MultiQuantile:alpha={alphas}",
        iterations=params["iterations"],
        depth=params["depth"],
        learning_rate=params["learning_rate"],
        l2_leaf_reg=params["l2_leaf_reg"],
        thread_count=2,
        random_seed=RANDOM_SEED,
        allow_writing_files=False,
        verbose=False,
    )


def _central_pairs(quantiles: tuple[float, ...]) -> list[tuple[int, int]]:
    """Index pairs (lower, upper) of symmetric quantiles around the median, e.g. 0.05/0.95."""
    median = quantiles.index(0.5)
    return [(i, len(quantiles) - 1 - i) for i in range(median)]


def _widen(raw: np.ndarray, quantiles: tuple[float, ...], scales: dict[str, float]) -> np.ndarray:
    if not scales or len(raw) == 0:
        return raw
    out = raw.copy()
    median = raw[:, quantiles.index(0.5)]
    for lo, hi in _central_pairs(quantiles):
        factor = scales.get(str(quantiles[lo]), 1.0)
        out[:, lo] = median + factor * (raw[:, lo] - median)
        out[:, hi] = median + factor * (raw[:, hi] - median)
    return out


def interval_scales_for(
    raw: np.ndarray, actual: np.ndarray, quantiles: tuple[float, ...]
) -> dict[str, float]:
    """Smallest widening of each central band that covers its nominal share of ``actual``."""
    median = raw[:, quantiles.index(0.5)]
    scales = {}
    for lo, hi in _central_pairs(quantiles):
        below = (median - actual) / np.maximum(median - raw[:, lo], 1e-6)
        above = (actual - median) / np.maximum(raw[:, hi] - median, 1e-6)
        needed = np.quantile(np.maximum(below, above), quantiles[hi] - quantiles[lo])
        scales[str(quantiles[lo])] = round(float(np.clip(needed, 1.0, MAX_INTERVAL_SCALE)), 4)
    return scales


def _fit_booster(features, target, params, quantiles) -> CatBoostRegressor:
    booster = _regressor(params, quantiles)
    booster.fit(features[FEATURE_COLUMNS], target.to_numpy(dtype="float64"))
    return booster


def model_fit(
    features: pd.DataFrame,
    target: pd.Series,
    params: dict | None = None,
    quantiles: tuple[float, ...] = SUPPORTED_QUANTILES,
) -> QuantileModel:
    """Fit on all rows; calibrate the bands on the last CALIBRATION_DAYS when there is room."""
    params = params or model_params()
    quantiles = tuple(quantiles)
    scales: dict[str, float] = {}
    calibration_start = target.index.max() - pd.Timedelta(days=CALIBRATION_DAYS)
    fit_span = calibration_start - target.index.min() if len(target) else pd.Timedelta(0)
    if fit_span >= pd.Timedelta(days=MIN_FIT_DAYS_FOR_CALIBRATION):
        early = target.index < calibration_start
        probe = QuantileModel(
            _fit_booster(features[early], target[early], params, quantiles),
            quantiles,
            list(FEATURE_COLUMNS),
        )
        raw = probe.predict_raw(features[~early])
        scales = interval_scales_for(raw, target[~early].to_numpy(dtype="float64"), quantiles)
    booster = _fit_booster(features, target, params, quantiles)
    return QuantileModel(booster, quantiles, list(FEATURE_COLUMNS), scales)
