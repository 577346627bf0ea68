"""The backtest protocol: no leakage, refit cadence, local days (DST), calibration."""

import numpy as np
import pandas as pd
import pytest

from training.backtest import (
    forecast_scores,
    local_days_before,
    rolling_origin_forecasts,
    window_between,
)
from training.calibration import calibrate, calibration_offsets
from training.evaluation import evaluation_run
from training.families.base import QUANTILES, PerForecastPredictor


class SpyFamily:
    """Records what the protocol lets it see; forecasts last week's demand."""

    name = "spy"
    uses_weather = True
    history_days = 8

    def __init__(self):
        self.fits, self.predictions = [], []

    def fit(self, history, city):
        self.fits.append(history.index.max())
        spy = self

        class Predictor(PerForecastPredictor):
            def predict(self, known, targets, origin):
                demand = known["demand_mw"].dropna()
                spy.predictions.append(
                    {
                        "origin": origin,
                        "last_demand": demand.index.max(),
                        "last_row": known.index.max(),
                        "targets": targets,
                        "weather_of_day": known["temperature_c"].reindex(targets).notna().all(),
                    }
                )
                return np.tile(demand.iloc[-len(targets) :].to_numpy()[:, None], len(QUANTILES))

        return Predictor()


def test_a_forecast_for_day_d_never_reads_demand_from_d_or_later(victoria, melbourne):
    spy = SpyFamily()
    window = window_between("2014-09-29", "2014-10-12", melbourne)
    start = window.start
    forecasts = rolling_origin_forecasts(
        victoria, melbourne, spy, window.start, window.end, refit_days=7
    )
    assert start == pd.Timestamp("2014-09-28 14:00", tz="UTC")  # local midnight, AEST
    # Refit weekly, each time on data strictly before the refit point.
    assert len(spy.fits) == 2
    assert spy.fits[0] < window.start and spy.fits[1] < window.start + pd.Timedelta(days=7)
    assert len(spy.predictions) == 14
    for seen in spy.predictions:
        day_end = seen["targets"][-1] + pd.Timedelta(minutes=30)
        assert seen["last_demand"] < seen["origin"]  # nothing from D or later
        assert seen["last_row"] < day_end  # not even weather after D
        assert seen["weather_of_day"]  # ex-post: D's observed temperature is given
        assert seen["targets"][0] == seen["origin"]
    # Every local day is forecast whole, DST included: 5 October 2014 has 46 half-hours.
    per_day = pd.Series(forecasts.day).value_counts().sort_index().to_numpy()
    assert list(per_day) == [48] * 6 + [46] + [48] * 7
    assert len(forecasts.actual) == len(forecasts.raw) == 13 * 48 + 46


def test_calibration_restores_nominal_coverage_and_sorts():
    rng = np.random.default_rng(7)
    hours = np.tile(np.arange(24), 200)
    truth = 1000 + 100 * np.sin(hours / 24 * 2 * np.pi)
    noise_scale = np.where(hours < 12, 30.0, 90.0)  # night calm, day volatile

    def sample():
        return truth + rng.normal(0, noise_scale)

    # Overconfident forecasts: the same narrow band at every hour, and one crossing pair.
    raw = truth[:, None] + np.array([-20, -15, -8, 0, 8, 15, 20.0])[None, :]
    raw[:, 1], raw[:, 2] = raw[:, 2] + 1, raw[:, 1]
    past, future = sample(), sample()
    before = forecast_scores(future, np.sort(raw, axis=1))["coverage_90"]
    offsets = calibration_offsets(raw, past, hours, QUANTILES)
    calibrated = calibrate(raw, hours, offsets)
    after = forecast_scores(future, calibrated)
    assert before < 40
    assert 86 <= after["coverage_90"] <= 94
    assert after["crossing"] == 0 and (np.diff(calibrated, axis=1) >= 0).all()
    # Wider where the errors are: the volatile hours get the wider band.
    width = calibrated[:, -1] - calibrated[:, 0]
    assert width[hours >= 12].mean() > 2 * width[hours < 12].mean()


@pytest.mark.parametrize("resolution", [30, 60])
def test_the_protocol_follows_the_city_resolution_and_time_zone(victoria, resolution):
    from types import SimpleNamespace

    berlin = SimpleNamespace(
        pk=None, timezone="Europe/Berlin", country="DE", resolution_minutes=resolution
    )
    data = victoria.resample(f"{resolution}min").mean()
    window = window_between("2014-10-24", "2014-10-27", berlin)  # clocks go back on the 26th
    forecasts = rolling_origin_forecasts(data, berlin, SpyFamily(), window.start, window.end)
    per_hour = 60 // resolution
    per_day = pd.Series(forecasts.day).value_counts().sort_index().to_numpy()
    assert list(per_day) == [24 * per_hour, 24 * per_hour, 25 * per_hour, 24 * per_hour]
    assert forecasts.origins[0] == pd.Timestamp("2014-10-23 22:00", tz="UTC")


def test_selection_prefers_fast_models_unless_a_slow_one_wins_clearly():
    from training.selection import Candidate, select

    def candidate(name, members, mape):
        return Candidate(name, members, {"mape": mape, "pinball": 1.0}, [1.0], None, None)

    close = {
        "catboost": candidate("catboost", ["catboost"], 3.00),
        "ensemble": candidate("ensemble", ["catboost", "mstl-ets"], 2.95),
        "seasonal-naive": candidate("seasonal-naive", ["seasonal-naive"], 7.0),
    }
    assert select(close) == "catboost"  # 1.7 % better is not worth 0.5 s per forecast
    clear = {**close, "ensemble": candidate("ensemble", ["catboost", "mstl-ets"], 2.50)}
    assert select(clear) == "ensemble"
    only_slow = {"mstl-ets": candidate("mstl-ets", ["mstl-ets"], 5.0)}
    assert select(only_slow) == "mstl-ets"


def test_calibration_days_before_a_window_are_local_days_across_daylight_saving(
    victoria, melbourne
):
    # Daylight saving began on 5 Oct 2014: the 28 days before 13 Oct hold one 23-hour
    # day. Counting them as 28 x 24 h started the backtest on 14 Sep, a Sunday, so it
    # had 29 calibration days and refitted on Sundays rather than on the window's Monday.
    window = window_between("2014-10-13", "2014-10-19", melbourne)
    evaluation = evaluation_run(
        victoria,
        melbourne,
        window=window,
        params={},
        calibration_days=28,
        refit_days=7,
        only={"seasonal-naive"},
    )
    origins = evaluation.forecasts["seasonal-naive"].origins
    assert len(origins) == 28 + 7
    first_local = origins[0].tz_convert(melbourne.timezone)
    assert first_local == pd.Timestamp("2014-09-15 00:00", tz=melbourne.timezone)
    assert first_local.weekday() == window.start.tz_convert(melbourne.timezone).weekday()
    assert local_days_before(window.start, 28, melbourne) == origins[0]
