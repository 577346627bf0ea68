"""The model a city deploys: per weather variant, the selected candidate, fitted on all
history, with its ensemble weights and conformal offsets. Pickled as the artifact.

Inference uses the weather variant when every target interval has a temperature (an
uploaded weather forecast), else the no-weather variant: a city without weather, or
a day without a weather forecast, still gets the best model that needs none.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from training.calibration import calibrate
from training.evaluation import NO_WEATHER, WEATHER, Evaluation


@dataclass
class DeployedVariant:
    candidate: str
    members: list[tuple[str, object, float]]  # family name, predictor, weight
    offsets: np.ndarray  # (24, quantiles)

    @property
    def algorithm(self) -> str:
        """E.g. ``catboost`` or ``ensemble:catboost+mstl-ets`` (fits a 40-character field)."""
        return algorithm_name(self.candidate, [name for name, _, _ in self.members])[:40]


def algorithm_name(candidate: str, members: list[str]) -> str:
    return f"ensemble:{'+'.join(members)}" if len(members) > 1 else candidate


@dataclass
class DeployedModel:
    quantiles: tuple[float, ...]
    timezone: str
    variants: dict[str, DeployedVariant]

    def summary(self) -> dict[str, str]:
        return {name: variant.candidate for name, variant in self.variants.items()}

    def variant_for(self, history: pd.DataFrame, targets: pd.DatetimeIndex) -> str:
        if WEATHER in self.variants and "temperature_c" in history:
            weather = history["temperature_c"].reindex(targets)
            if weather.notna().all():
                return WEATHER
        return NO_WEATHER

    def predict(self, history, targets, origin) -> np.ndarray:
        return self.predict_many([(history, targets, origin)])[0]

    def predict_many(self, items) -> list[np.ndarray]:
        """Calibrated, sorted (targets, quantiles) MW per item; one model call per member."""
        results: list[np.ndarray | None] = [None] * len(items)
        by_variant: dict[str, list[int]] = {}
        for i, (history, targets, _) in enumerate(items):
            by_variant.setdefault(self.variant_for(history, pd.DatetimeIndex(targets)), []).append(
                i
            )
        for name, positions in by_variant.items():
            variant = self.variants[name]
            group = [items[i] for i in positions]
            combined = [0.0] * len(group)
            for _, predictor, weight in variant.members:
                if weight == 0:
                    continue
                for k, raw in enumerate(predictor.predict_many(group)):
                    combined[k] = combined[k] + weight * raw
            for k, i in enumerate(positions):
                targets = pd.DatetimeIndex(items[i][1])
                hours = targets.tz_convert(self.timezone).hour.to_numpy()
                results[i] = calibrate(np.asarray(combined[k]), hours, variant.offsets)
        return results  # type: ignore[return-value]

    def feature_importance(self) -> dict[str, float]:
        for variant in (WEATHER, NO_WEATHER):
            if variant in self.variants:
                for _, predictor, weight in self.variants[variant].members:
                    if weight > 0 and hasattr(predictor, "feature_importance"):
                        return predictor.feature_importance()
        return {}

    def configuration(self) -> dict:
        """JSON description stored on the model version."""
        return {
            name: {
                "candidate": v.candidate,
                "members": [{"family": f, "weight": w} for f, _, w in v.members],
                "offsets_mw": np.round(v.offsets, 2).tolist(),
            }
            for name, v in self.variants.items()
        }


def deployed_model_fit(evaluation: Evaluation, history: pd.DataFrame, city) -> DeployedModel:
    """Fit each selected candidate's member families on all of ``history``."""
    fitted: dict[str, object] = {}
    variants = {}
    for name in evaluation.variants:
        candidate = evaluation.selected(name)
        members = []
        for family_name, weight in zip(candidate.members, candidate.weights, strict=True):
            if weight > 0 and family_name not in fitted:
                fitted[family_name] = evaluation.families[family_name].fit(history, city)
            members.append((family_name, fitted.get(family_name), float(weight)))
        variants[name] = DeployedVariant(candidate.name, members, np.asarray(candidate.offsets))
    from training.families import QUANTILES

    return DeployedModel(tuple(QUANTILES), city.timezone, variants)
