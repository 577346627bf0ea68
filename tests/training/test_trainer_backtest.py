import numpy as np
import pandas as pd
import pytest

from forecasts.services.jobs import JobError
from training.backtest import backtest_run
from training.fallback import seasonal_profile_forecast
from training.features import build_training_frame
from training.trainer import SUPPORTED_QUANTILES, model_fit, model_params

from .conftest import TEN_WEEKS


def test_quantiles_are_sorted_and_importance_named(victoria, melbourne):
    features, target = build_training_frame(victoria.loc[TEN_WEEKS], melbourne)
    model = model_fit(features, target, model_params(100))
    predictions = model.predict(features.tail(500))
    assert predictions.shape == (500, len(SUPPORTED_QUANTILES))
    assert (np.diff(predictions, axis=1) >= 0).all()
    assert (predictions[:, -1] > predictions[:, 0]).mean() > 0.99
    importance = model.feature_importance()
    assert set(importance) == set(features.columns)
    assert sum(importance.values()) == pytest.approx(100, abs=0.1)
    # Calibration found the in-sample tails too narrow and widened them.
    assert all(scale >= 1 for scale in model.interval_scales.values())


def test_backtest_model_beats_seasonal_naive(victoria, melbourne):
    report = backtest_run(victoria.loc[TEN_WEEKS], melbourne, days=7)
    window = report["window"]
    assert window["days"] == 7
    assert pd.Timestamp(window["end"]) == pd.Timestamp("2014-12-31 13:00", tz="UTC")
    model, naive = report["model"], report["seasonal_naive"]
    assert model["points"] == naive["points"] == 7 * 48
    assert model["mape"] < naive["mape"]
    assert model["pinball"] < naive["pinball"]
    assert 0 < model["mape"] < 15
    assert 0 <= model["coverage_90"] <= 100
    assert model["skill_mape"] == pytest.approx(1 - model["mape"] / naive["mape"], abs=1e-3)


def test_a_short_history_gets_a_shorter_window_not_an_error(victoria, melbourne, settings):
    settings.TRAINING_BACKTEST_DAYS = 28
    four_weeks = victoria.loc["2014-11-03":"2014-11-30"]  # 28 days, 21 with a week of lags
    report = backtest_run(four_weeks, melbourne)
    assert report["window"]["days"] == 13  # what is left after 7 days to fit on
    assert report["model"]["points"] == 13 * 48


def test_backtest_without_enough_history_is_a_clear_error(victoria, melbourne):
    with pytest.raises(JobError) as error:
        backtest_run(victoria.loc["2014-12-15":], melbourne, days=7)
    assert error.value.code == "insufficient_data"


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
    with pytest.raises(JobError) as error:
        seasonal_profile_forecast(
            empty, pd.date_range(origin, periods=2, freq="30min"), origin, melbourne, (0.5,)
        )
    assert error.value.code == "insufficient_data"
