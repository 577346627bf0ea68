"""Leads 2..7: training rows issued days before their day, and the model that serves them."""

import numpy as np
import pandas as pd
import pytest

from training import later_days
from training.catboost_model import model_params
from training.deployed import deployed_model_fit
from training.evaluation import NO_WEATHER, WEATHER
from training.families.gradient_boosting import CatBoostFamily
from training.features import LEAD_COLUMN, build_feature_frame, build_training_frame

from .conftest import TEN_WEEKS
from .test_features import local_day
from .test_trainer_backtest import _evaluate


@pytest.mark.parametrize("lead", [3, 7])
def test_multi_lead_rows_are_forecasts_issued_lead_minus_one_days_earlier(
    victoria, melbourne, lead
):
    data = victoria.loc["2014-09-01":"2014-10-31"]
    features, target = build_training_frame(data, melbourne, leads=(1, lead))
    # 5 October 2014 starts daylight saving (46 half-hours): issue days cross it.
    _, day = local_day("2014-10-08")
    origin, _ = local_day(str((pd.Timestamp("2014-10-08") - pd.Timedelta(days=lead - 1)).date()))
    rows = features[features[LEAD_COLUMN] == lead].loc[day]

    # Demand from the origin on, even of the target day, changes nothing: as-of.
    tampered = data.copy()
    tampered.loc[tampered.index >= origin, "demand_mw"] = 1.0
    expected = build_feature_frame(tampered, day, origin, melbourne)
    pd.testing.assert_frame_equal(rows, expected, check_freq=False, check_names=False)
    assert (rows["demand_last"] == data["demand_mw"][data.index < origin].iloc[-1]).all()
    assert (features.loc[features[LEAD_COLUMN] == 1, "demand_lag_day"].notna()).all()
    np.testing.assert_allclose(
        target[features[LEAD_COLUMN] == lead].loc[day], data.loc[day, "demand_mw"]
    )


def test_thinning_keeps_one_day_in_three_per_lead_and_every_day_across_leads(victoria, melbourne):
    data = victoria.loc["2014-09-01":"2014-10-31"]
    features, _ = build_training_frame(data, melbourne, leads=later_days.LEADS, thin=3)
    local_days = features.index.tz_convert(melbourne.timezone).normalize()
    days_by_lead = pd.Series(local_days).groupby(features[LEAD_COLUMN].to_numpy()).unique()
    all_days = set(pd.Series(local_days).unique())
    for lead, days in days_by_lead.items():
        assert len(days) == pytest.approx(len(all_days) / 3, abs=1), lead
    assert set(np.concatenate(days_by_lead.to_numpy())) == all_days


def test_a_week_ahead_forecast_is_day_ahead_first_then_multi_lead(victoria, melbourne):
    history = victoria.loc["2014-09-01":"2014-11-30"]
    origin, _ = local_day("2014-11-10")  # ten weeks before it: holdout and training
    known = history[history.index < origin]
    evaluation = _evaluate(known, melbourne, ["catboost", "catboost-no-weather"])
    deployed = deployed_model_fit(evaluation, known, melbourne)
    assert set(deployed.extended) == {WEATHER, NO_WEATHER}
    # Without weather: the same day-ahead booster blended with the seasonal naive (weight
    # from the holdout), with a band calibrated per lead day 2..7.
    blind_later = deployed.extended[NO_WEATHER]
    assert blind_later.members[0][1] is deployed.variants[NO_WEATHER].members[0][1]
    assert blind_later.candidate == "catboost-no-weather+naive-later-days"
    assert blind_later.members[1][0] == "seasonal-naive"
    assert blind_later.members[0][2] + blind_later.members[1][2] == pytest.approx(1.0)
    for later in deployed.extended.values():
        assert np.asarray(later.offsets).shape == (len(later_days.LEADS), 24, 7)
        widths = [np.mean(o[:, -1] - o[:, 0]) for o in later.offsets]
        assert widths[-1] > widths[0]  # the band widens with the lead
    assert deployed.configuration()[WEATHER]["after_first_day"]["members"][0]["weight"] == 1.0

    week = pd.date_range(origin, periods=7 * 48, freq="30min")
    with_forecast = pd.concat([known, history.loc[week, ["temperature_c"]]])
    values = deployed.predict(with_forecast, week, origin)
    assert values.shape == (len(week), 7)
    assert np.isfinite(values).all() and (np.diff(values, axis=1) >= 0).all()
    first_day = deployed._predict_group(
        deployed.variants[WEATHER], [(with_forecast, week[:48], origin)]
    )[0]
    later = deployed._predict_group(
        deployed.extended[WEATHER], [(with_forecast, week[48:], origin)]
    )[0]
    np.testing.assert_array_equal(values[:48], first_day)
    np.testing.assert_array_equal(values[48:], later)
    # On days 2-7 it beats what the day-ahead model would have said there.
    day_ahead_there = deployed._predict_group(
        deployed.variants[WEATHER], [(with_forecast, week, origin)]
    )[0][48:]
    actual = history.loc[week, "demand_mw"].to_numpy()[48:]

    def mape(forecast):
        return np.mean(np.abs(forecast[:, 3] - actual) / actual)

    assert mape(values[48:]) < mape(day_ahead_there), (mape(values[48:]), mape(day_ahead_there))

    blind = deployed.predict(known, week, origin)
    np.testing.assert_array_equal(
        blind[48:], deployed._predict_group(blind_later, [(known, week[48:], origin)])[0]
    )

    # An artifact pickled before leads 2..7 had their own model uses the day-ahead
    # variant throughout.
    del deployed.__dict__["extended"]
    old = deployed.predict(with_forecast, week, origin)
    np.testing.assert_array_equal(
        old,
        deployed._predict_group(deployed.variants[WEATHER], [(with_forecast, week, origin)])[0],
    )


def test_no_multi_lead_model_without_enough_history_for_its_holdout(victoria, melbourne):
    short = victoria.loc["2014-11-20":"2014-12-31"]  # 42 days < 28 holdout + 28 training
    family = _evaluate(victoria.loc[TEN_WEEKS], melbourne, ["catboost"]).families["catboost"]
    assert later_days.multi_lead_fit(family, short, melbourne) is None
    assert later_days.day_ahead_later_blend(family, short, melbourne) is None


def test_widths_come_from_consecutive_holdouts_each_forecast_by_a_fit_before_it(
    victoria, melbourne
):
    # 134 local days to the end of 30 November: three holdouts of 28 and 50 days before
    # them; a fourth would leave fewer than MIN_TRAINING_DAYS before it.
    history = victoria.loc["2014-07-19 14:00":"2014-11-30 12:30"]
    starts = later_days._holdout_starts(history, melbourne)
    assert later_days.HOLDOUT_FOLDS == 4 and len(starts) == 3
    # Local midnights 28 days apart, across the start of daylight saving (5 October).
    assert starts == [local_day(day)[0] for day in ("2014-11-02", "2014-10-05", "2014-09-07")]
    assert len(later_days._holdout_starts(history.loc["2014-09-22":], melbourne)) == 1  # 70 days
    assert len(later_days._holdout_starts(victoria, melbourne)) == 4

    seen = []
    family = later_days.extended_family(CatBoostFamily(with_weather=True, params=model_params(60)))

    def fit(data, city):
        seen.append(data.index[-1])
        return family.fit(data, city)

    folds = later_days._folds(fit, history, starts, melbourne)
    for fold, start, stop, fitted_to in zip(folds, starts, [None, *starts[:-1]], seen, strict=True):
        assert fitted_to < start  # each trial fit knew nothing of its holdout
        assert fold.targets.min() == start
        assert stop is None or fold.targets.max() < stop
        # Issued at the local midnight lead - 1 days before the target's day.
        target_day, origin_day = (
            i.tz_convert(melbourne.timezone).tz_localize(None) for i in (fold.targets, fold.origins)
        )
        assert (origin_day == origin_day.normalize()).all()
        assert ((target_day.normalize() - origin_day).days == fold.leads - 1).all()
        assert np.isfinite(fold.raw).all()
    # Together: every half-hour of the 84 days once at each lead 2..7.
    pooled = later_days._concatenated(folds)
    observed = history["demand_mw"].dropna()
    expected = observed[observed.index >= starts[-1]].index
    for lead in later_days.LEADS:
        assert pooled.targets[pooled.leads == lead].sort_values().equals(expected)
