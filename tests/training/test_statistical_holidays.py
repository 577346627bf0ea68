"""The statistical family (MSTL + AutoETS) forecasts a weekday off as a Sunday."""

import pickle

import numpy as np
import pandas as pd

from training.calendar import sunday_likeness
from training.families.base import city_spec
from training.families.statistical import MstlEtsFamily, _regular_demand, _without_days_off


def test_sunday_likeness_of_melbourne_days(melbourne):
    days = pd.DatetimeIndex(["2014-11-01", "2014-11-03", "2014-11-04", "2014-11-05", "2014-12-29"])
    # Saturday; the Monday bridging to Melbourne Cup Day; Cup Day; an ordinary Wednesday;
    # a weekday of the Christmas shutdown.
    assert sunday_likeness(days, melbourne).tolist() == [0.0, 0.5, 1.0, 0.0, 1.0]


def _day_mape(victoria, melbourne, day: str, handled: bool) -> tuple[float, np.ndarray]:
    origin = pd.Timestamp(day).tz_localize(melbourne.timezone).tz_convert("UTC")
    end = origin + pd.Timedelta(days=1)
    history = victoria[["demand_mw"]]
    family = MstlEtsFamily(clean_input=handled, sunday_targets=handled)
    known = history[history.index < origin]
    predictor = family.fit(known, melbourne)
    targets = history.index[(history.index >= origin) & (history.index < end)]
    forecast = predictor.predict(known, targets, origin)
    actual = history.loc[targets, "demand_mw"].to_numpy()
    return float(np.mean(np.abs(forecast[:, 3] - actual) / actual) * 100), forecast


def test_a_holiday_is_forecast_at_the_sunday_level(victoria, melbourne):
    aware, forecast = _day_mape(victoria, melbourne, "2014-11-04", handled=True)
    blind, blind_forecast = _day_mape(victoria, melbourne, "2014-11-04", handled=False)
    assert forecast[:, 3].mean() < 0.95 * blind_forecast[:, 3].mean()
    assert aware < blind - 3  # Cup Day: about 14 % MAPE as a Tuesday
    assert (np.diff(forecast, axis=1) >= 0).all()  # scaling keeps quantiles in order


def test_an_artifact_pickled_before_holidays_were_handled_still_predicts(victoria, melbourne):
    origin = pd.Timestamp("2014-11-04").tz_localize(melbourne.timezone).tz_convert("UTC")
    known = victoria[["demand_mw"]][victoria.index < origin]
    blind = MstlEtsFamily(clean_input=False, sunday_targets=False).fit(known, melbourne)
    old = pickle.loads(pickle.dumps(blind))
    for name in ("city", "clean_input", "sunday_targets"):  # what an old pickle lacks
        delattr(old, name)
    targets = pd.date_range(origin, periods=48, freq="30min")
    expected = blind.predict(known, targets, origin)
    assert np.allclose(old.predict(known, targets, origin), expected)
    # Cup Day, so the current family forecasts it differently: the comparison can fail.
    handled = MstlEtsFamily().fit(known, melbourne).predict(known, targets, origin)
    assert not np.allclose(handled, expected)


def test_the_input_keeps_the_hours_of_a_weekday_off_from_a_week_before(victoria, melbourne):
    origin = pd.Timestamp("2014-11-06").tz_localize(melbourne.timezone).tz_convert("UTC")
    step = pd.Timedelta(minutes=30)
    spec = city_spec(melbourne)
    raw, grid = _regular_demand(victoria, origin, step)
    cleaned = _without_days_off(raw, grid, step, spec)
    cup_day = (grid >= pd.Timestamp("2014-11-03 13:00", tz="UTC")) & (
        grid < pd.Timestamp("2014-11-04 13:00", tz="UTC")
    )
    week_before = np.flatnonzero(cup_day) - 7 * 48
    assert np.allclose(cleaned[cup_day], raw[week_before])
    assert not np.allclose(cleaned[cup_day], raw[cup_day])
    # Only Cup Day and the Monday bridging to it (local 3-4 Nov) change.
    changed = grid[~np.isclose(cleaned, raw)].tz_convert(melbourne.timezone).normalize()
    assert set(changed.strftime("%Y-%m-%d")) == {"2014-11-03", "2014-11-04"}
