import numpy as np
import pandas as pd
import pytest

from errors import DomainError
from training.backtest import BacktestWindow, backtest_window_for
from training.catboost_model import SUPPORTED_QUANTILES, model_fit, model_params
from training.deployed import deployed_model_fit
from training.evaluation import NO_WEATHER, WEATHER, evaluation_run
from training.fallback import seasonal_profile_forecast
from training.features import FEATURE_COLUMNS, build_training_frame
from training.selection import select

from .conftest import FAST_FAMILIES, TEN_WEEKS


def test_boosted_quantiles_expand_to_all_and_importance_is_named(victoria, melbourne):
    features, target = build_training_frame(victoria.loc[TEN_WEEKS], melbourne)
    model = model_fit(features, target, model_params(100))
    predictions = model.predict(features.tail(500))
    assert predictions.shape == (500, len(SUPPORTED_QUANTILES))
    assert (np.diff(predictions, axis=1) >= 0).all()
    assert (predictions[:, -1] > predictions[:, 0]).mean() > 0.99
    importance = model.feature_importance()
    assert set(importance) == set(FEATURE_COLUMNS)  # the default: the weather model
    assert sum(importance.values()) == pytest.approx(100, abs=0.1)


def _evaluate(history, city, families, days=7, calibration_days=7):
    demand_index = history["demand_mw"].dropna().index
    return evaluation_run(
        history,
        city,
        window=backtest_window_for(demand_index, city, days),
        params=model_params(150),
        calibration_days=calibration_days,
        refit_days=7,
        only=set(families),
    )


def test_every_family_is_scored_and_the_best_is_selected(victoria, melbourne):
    families = [*FAST_FAMILIES, "vanilla-regression", "mstl-ets"]
    evaluation = _evaluate(victoria.loc[TEN_WEEKS], melbourne, families, calibration_days=1)
    assert pd.Timestamp(evaluation.window.end) == pd.Timestamp("2014-12-31 13:00", tz="UTC")
    selected, candidates = evaluation.variants[WEATHER]
    assert set(candidates) == {*families, "ensemble", "ensemble-regression"}
    assert candidates["ensemble"].members == ["catboost", "mstl-ets"]
    assert candidates["ensemble-regression"].members == ["catboost", "vanilla-regression"]
    assert selected == select(candidates)
    fast = [n for n in candidates if "mstl-ets" not in candidates[n].members]
    best_fast = min(fast, key=lambda n: candidates[n].scores["mape"])
    assert candidates[selected].scores["mape"] <= candidates[best_fast].scores["mape"]
    for candidate in candidates.values():
        assert candidate.scores["points"] == 7 * 48
        assert candidate.scores["crossing"] == 0
        assert candidate.offsets.shape == (24, len(SUPPORTED_QUANTILES))
    assert candidates["catboost"].scores["mape"] < candidates["seasonal-naive"].scores["mape"]
    assert candidates["catboost"].scores["skill_mape"] > 0
    # Without weather only the families that need none compete.
    no_weather_selected, no_weather = evaluation.variants[NO_WEATHER]
    assert "catboost" not in no_weather and "vanilla-regression" not in no_weather
    assert "ensemble-regression" not in no_weather
    assert no_weather["ensemble"].members == ["catboost-no-weather", "mstl-ets"]
    metrics = evaluation.metrics()
    assert metrics["model"]["candidate"] == selected
    assert metrics["variants"][NO_WEATHER]["selected"] == no_weather_selected


def test_a_city_without_weather_gets_a_no_weather_model(victoria, melbourne):
    history = victoria.loc[TEN_WEEKS].drop(columns=["temperature_c"])
    evaluation = _evaluate(history, melbourne, FAST_FAMILIES)
    assert list(evaluation.variants) == [NO_WEATHER]
    deployed = deployed_model_fit(evaluation, history, melbourne)
    assert list(deployed.variants) == [NO_WEATHER]
    origin = pd.Timestamp("2014-12-29 13:00", tz="UTC")
    day = pd.date_range(origin, periods=48, freq="30min")
    known = history[history.index < origin]
    values = deployed.predict(known, day, origin)
    assert np.isfinite(values).all() and (np.diff(values, axis=1) >= 0).all()
    mape = np.mean(
        np.abs(values[:, 3] - history.loc[day, "demand_mw"]) / history.loc[day, "demand_mw"]
    )
    assert mape < 0.1


def test_backtest_without_enough_history_is_a_clear_error(victoria, melbourne):
    with pytest.raises(DomainError) as error:
        _evaluate(victoria.loc["2014-12-15":], melbourne, FAST_FAMILIES)
    assert error.value.code == "insufficient_data"


def test_window_dict_round_trip(melbourne):
    window = backtest_window_for(
        pd.date_range("2014-01-01", periods=2000, freq="30min", tz="UTC"), melbourne, 7
    )
    assert BacktestWindow.from_dict(window.as_dict()) == window


def test_fallback_works_from_one_day(victoria, melbourne):
    origin = pd.Timestamp("2014-12-10 13:00", tz="UTC")
    one_day = victoria.loc[origin - pd.Timedelta(days=1) : origin - pd.Timedelta(minutes=30)]
    index = pd.date_range(origin, periods=48, freq="30min")
    values = seasonal_profile_forecast(one_day, index, origin, melbourne, (0.05, 0.5, 0.95))
    np.testing.assert_allclose(values[0.5], one_day["demand_mw"].to_numpy())
    assert (values[0.05] < values[0.5]).all() and (values[0.5] < values[0.95]).all()


def test_fallback_without_demand_raises_insufficient_data(melbourne):
    origin = pd.Timestamp("2014-12-10 13:00", tz="UTC")
    empty = pd.DataFrame({"demand_mw": []}, index=pd.DatetimeIndex([], tz="UTC"))
    with pytest.raises(DomainError) as error:
        seasonal_profile_forecast(
            empty, pd.date_range(origin, periods=2, freq="30min"), origin, melbourne, (0.5,)
        )
    assert error.value.code == "insufficient_data"
