"""Backtests on stored vintages: each backtest day reads the vintage known at its
midnight (the as-of rule of inference), and the observed weather where none was."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tests.factories import load_observations
from training.backtest import forecast_input
from weather.providers import IssuedForecast
from weather.selectors import weather_asof_lookup
from weather.services import weather_vintage_store

ORIGIN = pd.Timestamp("2014-12-29 13:00", tz="UTC")  # local midnight, Melbourne


def store(city, issued_at, first_hour, temperature: float, hours=30):
    index = pd.date_range(first_hour, periods=hours, freq="h")
    frame = pd.DataFrame({"temperature_c": np.full(hours, temperature)}, index=index)
    return weather_vintage_store(city=city, forecast=IssuedForecast("upload", issued_at, frame))


def test_each_backtest_day_reads_the_vintage_known_at_its_midnight(city, victoria):
    history = victoria.loc["2014-12-01":]
    load_observations(city, history)
    assert weather_asof_lookup(city) is None
    store(city, ORIGIN - pd.Timedelta(hours=3), ORIGIN, 11.0)
    store(city, ORIGIN + pd.Timedelta(hours=1), ORIGIN, 33.0)  # issued after the origin
    store(city, ORIGIN + pd.Timedelta(days=1) - pd.Timedelta(hours=1), ORIGIN, 22.0)
    lookup = weather_asof_lookup(city)
    end = ORIGIN + pd.Timedelta(days=1)
    known = forecast_input(history, ORIGIN, end, 7, lookup)
    ahead = known[known.index >= ORIGIN]
    assert len(ahead) == 48 and (ahead["temperature_c"] == 11.0).all()
    assert ahead["demand_mw"].isna().all()
    past = known[known.index < ORIGIN]
    np.testing.assert_array_equal(
        past["temperature_c"], history.loc[past.index, "temperature_c"]
    )  # observations before the origin are untouched
    next_day = forecast_input(history, end, end + pd.Timedelta(days=1), 7, lookup)
    assert (next_day.loc[next_day.index >= end, "temperature_c"].iloc[:10] == 22.0).all()
    # A day without a vintage known at its midnight keeps the observed weather.
    earlier = ORIGIN - pd.Timedelta(days=3)
    kept = forecast_input(history, earlier, earlier + pd.Timedelta(days=1), 7, lookup)
    np.testing.assert_array_equal(
        kept.loc[kept.index >= earlier, "temperature_c"],
        history.loc[earlier : earlier + pd.Timedelta(hours=23.5), "temperature_c"],
    )
