"""Model families that run through the same backtest, selection and inference code.

A family turns history into a predictor (``fit``); a predictor turns the history
known at an origin into raw quantile forecasts of the target intervals
(``predict``). Calibration, ensembling and selection live outside the families.
"""

from training.families.base import QUANTILES, Family, Predictor
from training.families.gradient_boosting import CatBoostFamily
from training.families.naive import SeasonalNaiveFamily
from training.families.regression import VanillaRegressionFamily
from training.families.statistical import MstlEtsFamily

__all__ = [
    "QUANTILES",
    "CatBoostFamily",
    "Family",
    "MstlEtsFamily",
    "Predictor",
    "SeasonalNaiveFamily",
    "VanillaRegressionFamily",
    "families_for",
]


def families_for(*, with_weather: bool, params: dict) -> list[Family]:
    """The families backtested for a city; weather families only when weather exists."""
    families: list[Family] = [
        CatBoostFamily(with_weather=False, params=params),
        MstlEtsFamily(),
        SeasonalNaiveFamily(),
    ]
    if with_weather:
        families = [
            CatBoostFamily(with_weather=True, params=params),
            VanillaRegressionFamily(),
            *families,
        ]
    return families
