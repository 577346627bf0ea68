import numpy as np
import pandas as pd
import pytest

from training.catboost_model import model_fit, model_params
from training.features import (
    ALL_COLUMNS,
    NO_WEATHER_COLUMNS,
    build_feature_frame,
    build_training_frame,
    local_midnights,
)

MELBOURNE = "Australia/Melbourne"


def local_day(day: str, resolution="30min") -> tuple[pd.Timestamp, pd.DatetimeIndex]:
    start = pd.Timestamp(day).tz_localize(MELBOURNE).tz_convert("UTC")
    end = (pd.Timestamp(day) + pd.Timedelta(days=1)).tz_localize(MELBOURNE).tz_convert("UTC")
    return start, pd.date_range(start, end, freq=resolution, inclusive="left")


def test_features_ignore_demand_at_or_after_the_origin(victoria, melbourne):
    origin, day = local_day("2014-12-10")
    history = victoria.loc[: day[-1]]
    altered = history.copy()
    altered.loc[altered.index >= origin, "demand_mw"] *= 3.0
    later = victoria.loc["2014-12-11":"2014-12-20"].assign(demand_mw=99999.0)
    altered = pd.concat([altered, later])

    honest = build_feature_frame(history, day, origin, melbourne)
    tampered = build_feature_frame(altered, day, origin, melbourne)

    pd.testing.assert_frame_equal(honest, tampered)
    assert honest["demand_lag_day"].notna().all()
    # The one-day lag really is yesterday's same local slot.
    yesterday = victoria.loc[day - pd.Timedelta(days=1), "demand_mw"].to_numpy()
    np.testing.assert_allclose(honest["demand_lag_day"].to_numpy(), yesterday)


def test_predictions_ignore_demand_at_or_after_the_origin(victoria, melbourne):
    data = victoria.loc["2014-10-01":"2014-12-20"]
    origin, day = local_day("2014-12-15")
    features, target = build_training_frame(data[data.index < origin], melbourne)
    model = model_fit(features, target, model_params(60))
    altered = data.copy()
    altered.loc[altered.index >= origin, "demand_mw"] = 0.0

    honest = model.predict(build_feature_frame(data, day, origin, melbourne))
    tampered = model.predict(build_feature_frame(altered, day, origin, melbourne))

    np.testing.assert_array_equal(honest, tampered)


def test_training_rows_are_the_day_ahead_features_of_each_day(victoria, melbourne):
    features, _ = build_training_frame(victoria.loc["2014-11-01":"2014-12-31"], melbourne)
    origin, day = local_day("2014-12-02")
    single = build_feature_frame(victoria, day, origin, melbourne)
    pd.testing.assert_frame_equal(features.loc[day], single, check_freq=False, check_names=False)
    assert list(features.columns) == ALL_COLUMNS


def test_holidays_of_melbourne(victoria, melbourne):
    features, _ = build_training_frame(victoria, melbourne)
    local_dates = features.index.tz_convert(MELBOURNE).strftime("%Y-%m-%d")
    flags = ["is_holiday", "is_working_day", "is_bridge_day", "christmas_period"]
    by_day = features.groupby(local_dates)[flags].max()
    assert by_day.loc["2014-12-25", "is_holiday"] == 1
    assert by_day.loc["2014-12-25", "is_working_day"] == 0
    assert by_day.loc["2014-11-04", "is_holiday"] == 1  # Melbourne Cup: Victoria only
    assert by_day.loc["2014-12-23", "is_holiday"] == 0
    assert by_day.loc["2014-12-23", "is_working_day"] == 1
    # Monday 3 November sits between a weekend and Melbourne Cup Tuesday: a bridge day.
    assert by_day.loc["2014-11-03", "is_bridge_day"] == 1
    assert by_day.loc["2014-11-05", "is_bridge_day"] == 0
    assert by_day.loc["2014-12-29", "christmas_period"] == 1
    assert by_day.loc["2014-12-22", "christmas_period"] == 0


@pytest.mark.parametrize(
    ("day", "intervals", "slot_counts"),
    [
        ("2014-10-05", 46, {4: 0, 5: 0, 6: 1}),  # clocks jump 02:00 -> 03:00
        ("2014-04-06", 50, {4: 2, 5: 2, 6: 1}),  # 02:00-03:00 happens twice
        ("2014-07-15", 48, {4: 1, 5: 1, 6: 1}),
    ],
)
def test_slots_are_local_and_dst_aware(victoria, melbourne, day, intervals, slot_counts):
    origin, index = local_day(day)
    assert len(index) == intervals
    features = build_feature_frame(victoria, index, origin, melbourne)
    counts = features["slot"].value_counts()
    for slot, expected in slot_counts.items():
        assert counts.get(slot, 0) == expected
    assert features["slot"].iloc[0] == 0 and features["slot"].iloc[-1] == 47


def test_local_midnight_moves_with_daylight_saving(melbourne):
    summer = pd.DatetimeIndex(["2014-12-10 05:00"], tz="UTC")
    winter = pd.DatetimeIndex(["2014-07-10 05:00"], tz="UTC")
    assert local_midnights(summer, MELBOURNE)[0] == pd.Timestamp("2014-12-09 13:00", tz="UTC")
    assert local_midnights(winter, MELBOURNE)[0] == pd.Timestamp("2014-07-09 14:00", tz="UTC")


def test_weather_features_read_the_days_weather_rows_only_when_present(victoria, melbourne):
    origin, day = local_day("2014-12-10")
    history = victoria.loc[: origin - pd.Timedelta(minutes=30)]
    with_forecast = pd.concat([history, victoria.loc[day].assign(demand_mw=np.nan)])

    without = build_feature_frame(history, day, origin, melbourne)
    forecast = build_feature_frame(with_forecast, day, origin, melbourne)

    np.testing.assert_allclose(forecast["temperature_c"], victoria.loc[day, "temperature_c"])
    assert forecast["temperature_max_day"].iloc[0] == victoria.loc[day, "temperature_c"].max()
    lag_1h = victoria["temperature_c"].reindex(day - pd.Timedelta(hours=1)).to_numpy()
    np.testing.assert_allclose(forecast["temperature_lag_1h"], lag_1h)
    # No weather forecast: no invented temperature (the no-weather model serves that day).
    assert without["temperature_c"].isna().all()
    assert without["temperature_max_day"].isna().all()
    pd.testing.assert_frame_equal(without[NO_WEATHER_COLUMNS], forecast[NO_WEATHER_COLUMNS])


def test_observed_temperature_is_read_before_the_origin_only(victoria, melbourne):
    origin, day = local_day("2014-12-10")
    features = build_feature_frame(victoria, day, origin, melbourne)
    before = victoria.loc[origin - pd.Timedelta(hours=24) : origin - pd.Timedelta(minutes=30)]
    temperature = before["temperature_c"]
    assert (features["temperature_obs_last"] == temperature.iloc[-1]).all()
    assert (features["temperature_obs_max_24h"] == temperature.max()).all()
    np.testing.assert_allclose(features["temperature_obs_mean_24h"], temperature.mean())
    np.testing.assert_allclose(features["temperature_obs_lag_day"], temperature.to_numpy())
    # Whatever the day's own temperature (forecast or not), these do not move.
    altered = victoria.copy()
    altered.loc[altered.index >= origin, "temperature_c"] += 10.0
    moved = build_feature_frame(altered, day, origin, melbourne)
    pd.testing.assert_frame_equal(moved[NO_WEATHER_COLUMNS], features[NO_WEATHER_COLUMNS])


def test_a_year_builds_in_seconds(victoria, melbourne):
    import time

    started = time.perf_counter()
    features, target = build_training_frame(victoria, melbourne)
    assert time.perf_counter() - started < 5
    assert len(features) == len(target) > 17_000


def test_days_from_christmas_is_the_signed_distance_to_the_nearest_christmas():
    from training.calendar import DAYS_FROM_CHRISTMAS_CLIP, _days_from_christmas

    dates = pd.date_range("1999-01-01", "2031-12-31", freq="D")
    expected = []
    for date in dates:
        years = (date.year - 1, date.year, date.year + 1)
        nearest = min(
            ((date - pd.Timestamp(year=y, month=12, day=25)).days for y in years), key=abs
        )
        expected.append(max(-DAYS_FROM_CHRISTMAS_CLIP, min(DAYS_FROM_CHRISTMAS_CLIP, nearest)))
    assert _days_from_christmas(dates).tolist() == expected


def test_christmas_period_runs_from_24_december_to_2_january_at_any_time_of_day():
    from training.calendar import christmas_period_flags

    local = pd.DatetimeIndex(
        [
            "2014-12-23 23:30",
            "2014-12-24 00:00",
            "2014-12-31 12:00",
            "2015-01-02 23:30",
            "2015-01-03",
        ]
    )
    assert christmas_period_flags(local).tolist() == [False, True, True, True, False]
