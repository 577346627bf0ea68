"""The model a city deploys: per weather variant, the selected candidate, fitted on all
history, with its ensemble weights and conformal offsets. Pickled as the artifact.

Inference uses the weather variant when every target interval has a temperature (an
uploaded weather forecast), else the no-weather variant: a city without weather, or
a day without a weather forecast, still gets the best model that needs none. Targets
after the first 24 hours go to what training/later_days.py fitted for the variant: with
weather a multi-lead model, without it the day-ahead CatBoost with a band calibrated
at those leads.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from training.calibration import calibrate
from training.evaluation import NO_WEATHER, WEATHER, Evaluation
from training.families.gradient_boosting import CatBoostFamily
from training.families.naive import SeasonalNaiveFamily
from training.features import lead_days
from training.later_days import LEADS, MULTI_LEAD_VARIANTS, day_ahead_later_blend, multi_lead_fit


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
    # Per variant, what serves leads 2..7 (training/later_days.py); artifacts trained
    # before it existed lack the attribute and use the day-ahead variant throughout.
    extended: dict[str, DeployedVariant] = field(default_factory=dict)

    def summary(self) -> dict[str, str]:
        return {name: variant.candidate for name, variant in self.variants.items()}

    def variant_for(self, history: pd.DataFrame, targets: pd.DatetimeIndex) -> str:
        if WEATHER in self.variants and "temperature_c" in history:
            # history["temperature_c"].reindex(targets).notna().all(), without building
            # the reindexed series (this runs for every request of a batch).
            positions = history.index.get_indexer(pd.DatetimeIndex(targets))
            if (positions >= 0).all():
                weather = history["temperature_c"].to_numpy()[positions]
                if not np.isnan(weather).any():
                    return WEATHER
        return NO_WEATHER

    def predict(self, history, targets, origin) -> np.ndarray:
        return self.predict_many([(history, targets, origin)])[0]

    def predict_many(self, items) -> list[np.ndarray]:
        """Calibrated, sorted (targets, quantiles) MW per item; one model call per member
        and model: the first 24 hours by the variant, later ones by its ``extended`` entry."""
        extended = getattr(self, "extended", None) or {}
        results = [np.empty((len(targets), len(self.quantiles))) for _, targets, _ in items]
        parts: dict[tuple[str, bool], list[tuple[int, np.ndarray]]] = {}
        names = [self.variant_for(history, targets) for history, targets, _ in items]
        later_of = self._later_rows(items, [name in extended for name in names])
        for i, (name, later) in enumerate(zip(names, later_of, strict=True)):
            for is_later in (False, True):
                rows = np.flatnonzero(later == is_later)
                if len(rows):
                    parts.setdefault((name, is_later), []).append((i, rows))
        for (name, is_later), members in parts.items():
            variant = extended[name] if is_later else self.variants[name]
            group = [
                (items[i][0], pd.DatetimeIndex(items[i][1])[rows], items[i][2])
                for i, rows in members
            ]
            forecasts = self._predict_group(variant, group)
            for (i, rows), forecast in zip(members, forecasts, strict=True):
                results[i][rows] = forecast
        return results

    def _later_rows(self, items, wanted: list[bool]) -> list[np.ndarray]:
        """Per item, which targets lie after the first local day from its origin (only
        for the ``wanted`` items; the others get all False): one lead_days call."""
        out = [np.zeros(len(targets), dtype=bool) for _, targets, _ in items]
        chosen = [i for i, want in enumerate(wanted) if want and len(items[i][1])]
        if not chosen:
            return out
        targets = [pd.DatetimeIndex(items[i][1]).tz_convert("UTC").as_unit("ns") for i in chosen]
        origins = np.concatenate(
            [
                np.full(len(t), pd.Timestamp(items[i][2]).tz_convert("UTC").value)
                for i, t in zip(chosen, targets, strict=True)
            ]
        )
        leads = lead_days(
            pd.DatetimeIndex(np.concatenate([t.asi8 for t in targets])).tz_localize("UTC"),
            pd.DatetimeIndex(origins).tz_localize("UTC"),
            self.timezone,
        )
        bounds = np.cumsum([0, *(len(t) for t in targets)])
        for i, a, b in zip(chosen, bounds[:-1], bounds[1:], strict=True):
            out[i] = leads[a:b] > 1
        return out

    def _predict_group(self, variant: DeployedVariant, group) -> list[np.ndarray]:
        """Calibrated forecasts of one variant (or its ``extended`` entry) for many items."""
        combined = [0.0] * len(group)
        for _, predictor, weight in variant.members:
            if weight == 0:
                continue
            for k, raw in enumerate(predictor.predict_many(group)):
                combined[k] = combined[k] + weight * raw
        out = []
        offsets = np.asarray(variant.offsets)
        for k, (_, targets, origin) in enumerate(group):
            targets = pd.DatetimeIndex(targets).tz_convert("UTC")
            hours = targets.tz_convert(self.timezone).hour.to_numpy()
            raw = np.asarray(combined[k])
            if offsets.ndim == 3:  # per lead day 2..7 (training/later_days.py)
                origins = pd.DatetimeIndex([origin] * len(targets)).tz_convert("UTC")
                lead = np.clip(lead_days(targets, origins, self.timezone), LEADS[0], LEADS[-1])
                out.append(np.sort(raw + offsets[lead - LEADS[0], hours], axis=1))
            else:
                out.append(calibrate(raw, hours, offsets))
        return out

    def feature_importance(self) -> dict[str, float]:
        for variant in (WEATHER, NO_WEATHER):
            if variant in self.variants:
                for _, predictor, weight in self.variants[variant].members:
                    if weight > 0 and hasattr(predictor, "feature_importance"):
                        return predictor.feature_importance()
        return {}

    def configuration(self) -> dict:
        """JSON description stored on the model version."""
        described = {name: _describe(v) for name, v in self.variants.items()}
        for name, v in (getattr(self, "extended", None) or {}).items():
            described[name]["after_first_day"] = _describe(v)
        return described


def _describe(variant: DeployedVariant) -> dict:
    return {
        "candidate": variant.candidate,
        "members": [{"family": f, "weight": w} for f, _, w in variant.members],
        "offsets_mw": np.round(variant.offsets, 2).tolist(),
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

    return DeployedModel(
        tuple(QUANTILES),
        city.timezone,
        variants,
        _extended_variants(evaluation, history, city, fitted),
    )


def _extended_variants(evaluation: Evaluation, history: pd.DataFrame, city, fitted) -> dict:
    """What serves leads 2..7 of each variant whose selected candidate uses CatBoost:
    a multi-lead model (with weather), or its day-ahead CatBoost with a band calibrated
    at those leads (without). ``fitted``: the day-ahead predictors, by family."""
    extended = {}
    for name in evaluation.variants:
        candidate = evaluation.selected(name)
        for family_name, weight in zip(candidate.members, candidate.weights, strict=True):
            family = evaluation.families[family_name]
            if weight == 0 or not isinstance(family, CatBoostFamily):
                continue
            if name in MULTI_LEAD_VARIANTS:
                found = multi_lead_fit(family, history, city)
                label = f"{family_name}-multi-lead"
                if found is not None:
                    members = [(family_name, found[0], 1.0)]
                    extended[name] = DeployedVariant(label, members, found[1])
            else:
                found = day_ahead_later_blend(family, history, city)
                if found is not None:
                    weight, offsets = found
                    naive = SeasonalNaiveFamily()
                    members = [
                        (family_name, fitted[family_name], weight),
                        (naive.name, naive.fit(history, city), round(1 - weight, 2)),
                    ]
                    extended[name] = DeployedVariant(
                        f"{family_name}+naive-later-days", members, offsets
                    )
            break
    return extended
