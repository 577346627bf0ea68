"""CatBoost multi-quantile on calendar, as-of demand and (optionally) weather features."""

from __future__ import annotations

import numpy as np
import pandas as pd

from training.catboost_model import QuantileModel, model_fit
from training.families.base import city_spec
from training.features import build_training_frame, feature_columns, feature_frames_for_items


class CatBoostPredictor:
    def __init__(self, model: QuantileModel, city):
        self.model = model
        self.city = city

    def predict(self, history, targets, origin) -> np.ndarray:
        return self.predict_many([(history, targets, origin)])[0]

    def predict_many(self, items) -> list[np.ndarray]:
        frames = feature_frames_for_items(items, self.city)
        if not frames:
            return []
        raw = self.model.predict_raw(pd.concat(frames, ignore_index=True))
        bounds = np.cumsum([0, *(len(f) for f in frames)])
        return [raw[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]

    def feature_importance(self) -> dict[str, float]:
        return self.model.feature_importance()


class CatBoostFamily:
    history_days = 15  # weekly lags plus the previous day's temperature

    def __init__(
        self, *, with_weather: bool, params: dict, leads: tuple[int, ...] = (1,), thin: int = 1
    ):
        self.uses_weather = with_weather
        self.name = "catboost" if with_weather else "catboost-no-weather"
        # The no-weather model has its own settings on top of the shared ones.
        self.params = params if with_weather else {**params, **params.get("no_weather", {})}
        # Day-ahead by default; a model of later days learns from rows of each of its
        # leads, with the lead as a feature (training/later_days.py).
        self.leads = tuple(leads)
        self.thin = thin

    def fit(self, history: pd.DataFrame, city) -> CatBoostPredictor:
        features, target = build_training_frame(history, city, self.leads, self.thin)
        columns = feature_columns(self.uses_weather, multi_lead=self.leads != (1,))
        model = model_fit(features, target, self.params, columns=columns)
        return CatBoostPredictor(model, city_spec(city))
