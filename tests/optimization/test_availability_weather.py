"""PV (pvlib) and wind (windpowerlib) availability on the TMY3 weather pvlib ships."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pvlib
import pytest

from optimization.availability import source_availability_with_basis
from optimization.availability_weather import (
    DEFAULT_TURBINE,
    pv_per_unit,
    turbine_types,
    wind_per_unit,
)
from tests.optimization.helpers import MELBOURNE

TMY3 = Path(pvlib.__file__).parent / "data" / "723170TYA.CSV"  # Greensboro, NC


@pytest.fixture(scope="module")
def tmy():
    weather, meta = pvlib.iotools.read_tmy3(TMY3, map_variables=True)
    # TMY3 stamps the end of each hour; the dispatch uses interval starts.
    starts = (weather.index - pd.Timedelta(hours=1)).tz_convert("UTC")
    return weather.set_axis(pd.DatetimeIndex(starts)), meta


def pv_from(weather, meta, **extra):
    return pv_per_unit(
        weather.index, latitude=meta["latitude"], longitude=meta["longitude"], dt_hours=1.0,
        **extra,
    )  # fmt: skip


def test_pv_from_a_year_of_measured_weather_is_physical(tmy):
    weather, meta = tmy
    measured = pv_from(
        weather,
        meta,
        ghi_wm2=weather["ghi"].to_numpy(),
        temperature_c=weather["temp_air"].to_numpy(),
        wind_speed_ms=weather["wind_speed"].to_numpy(),
    )
    assert measured.shape == (8760,) and measured.min() >= 0 and measured.max() <= 1
    assert np.all(measured[weather["ghi"].to_numpy() == 0] == 0)  # nothing at night
    # A fixed-tilt plant in North Carolina with DC/AC 1.2: a capacity factor of 15-22 %.
    assert 0.15 < measured.mean() < 0.22
    # The inverter clips at the AC nameplate on the best hours.
    assert measured.max() == pytest.approx(1.0)
    clear = pv_from(weather, meta)
    assert clear.mean() > measured.mean()  # clouds only take away
    # Output follows the irradiance: sunnier hours give more.
    daytime = weather["ghi"].to_numpy() > 50
    assert np.corrcoef(measured[daytime], weather["ghi"].to_numpy()[daytime])[0, 1] > 0.9


def test_pv_loses_output_in_the_heat(tmy):
    weather, meta = tmy
    noon = weather[(weather.index.hour == 17) & (weather["ghi"] > 600)].iloc[:200]
    ghi = noon["ghi"].to_numpy()
    cool = pv_from(noon, meta, ghi_wm2=ghi, temperature_c=np.full(len(noon), 5.0))
    hot = pv_from(noon, meta, ghi_wm2=ghi, temperature_c=np.full(len(noon), 40.0))
    unclipped = cool < 0.999
    assert unclipped.any()
    assert np.all(hot[unclipped] < cool[unclipped])


def test_wind_follows_the_power_curve_on_tmy_wind_speeds(tmy):
    weather, _ = tmy
    speed = weather["wind_speed"].to_numpy()
    output = wind_per_unit(speed, turbine_type=DEFAULT_TURBINE, hub_height_m=135)
    assert output.shape == speed.shape and output.min() >= 0 and output.max() <= 1
    assert np.all(output[speed == 0] == 0)
    assert 0.05 < output.mean() < 0.4
    # Monotone below rated speed: sort by speed, output never falls.
    low = speed < 8
    order = np.argsort(speed[low], kind="stable")
    assert np.all(np.diff(output[low][order]) >= -1e-12)
    # A taller hub sees faster wind (Hellman) and so produces more.
    assert (
        wind_per_unit(speed, hub_height_m=150).mean() > wind_per_unit(speed, hub_height_m=60).mean()
    )


def test_the_turbine_library_is_the_one_windpowerlib_ships():
    types = turbine_types()
    assert DEFAULT_TURBINE in types and len(types) > 50
    with pytest.raises(ValueError):
        wind_per_unit(np.array([8.0]), turbine_type="Nonexistent/1")


def test_sources_fall_back_and_say_where_their_availability_came_from():
    stamps = pd.date_range("2014-01-15 13:00", periods=48, freq="30min", tz="UTC")
    where = {**MELBOURNE, "dt_hours": 0.5}
    pv = SimpleNamespace(
        kind="solar", availability=1.0, availability_profile=[], availability_model="pv",
        pv_tilt_deg=None, pv_azimuth_deg=None,
    )  # fmt: skip
    clear, basis = source_availability_with_basis(pv, stamps, **where)
    assert basis == "pv_clear_sky" and clear.max() > 0.8 and clear.min() == 0
    weather = pd.DataFrame(
        {"irradiance_wm2": clear * 500, "temperature_c": 25.0, "wind_speed_ms": 7.0},
        index=stamps,
    )
    cloudy, basis = source_availability_with_basis(pv, stamps, weather=weather, **where)
    assert basis == "pv_weather" and cloudy.max() < clear.max()
    wind = SimpleNamespace(
        kind="wind", availability=1.0, availability_profile=[0.3] * 24, availability_model="wind",
        turbine_type="", hub_height_m=None,
    )  # fmt: skip
    from_weather, basis = source_availability_with_basis(wind, stamps, weather=weather, **where)
    assert basis == "wind_weather" and np.allclose(from_weather, from_weather[0])
    assert from_weather[0] == pytest.approx(wind_per_unit(np.array([7.0]))[0])
    gappy = weather.assign(wind_speed_ms=np.where(np.arange(48) < 10, np.nan, 7.0))
    fallback, basis = source_availability_with_basis(wind, stamps, weather=gappy, **where)
    assert basis == "profile" and np.all(fallback == 0.3)
