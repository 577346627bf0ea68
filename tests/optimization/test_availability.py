"""Availability per interval: local-hour profiles and the clear-sky solar bell."""

from types import SimpleNamespace

import numpy as np
import pandas as pd

from optimization.availability import profile_by_local_hour, source_availability
from tests.optimization.helpers import MELBOURNE


def half_hours(local_day: str) -> pd.DatetimeIndex:
    start = pd.Timestamp(local_day, tz=MELBOURNE["timezone"])
    end = (pd.Timestamp(local_day) + pd.Timedelta(days=1)).tz_localize(MELBOURNE["timezone"])
    return pd.date_range(start.tz_convert("UTC"), end.tz_convert("UTC"), freq="30min",
                         inclusive="left")  # fmt: skip


def solar(availability=1.0):
    return SimpleNamespace(kind="solar", availability=availability, availability_profile=[])


def test_solar_is_dark_at_night_and_peaks_near_solar_noon():
    stamps = half_hours("2014-01-16")  # summer, daylight saving (UTC+11)
    values = source_availability(solar(), stamps, dt_hours=0.5, **MELBOURNE)
    local = stamps.tz_convert(MELBOURNE["timezone"])
    assert np.all(values[(local.hour < 5) | (local.hour >= 21)] == 0)
    peak_hour = local[np.argmax(values)].hour
    assert peak_hour == 13  # solar noon at 144.96 E is about 13:20 in daylight time
    assert 0.7 < values.max() <= 0.8


def test_solar_is_weaker_and_shorter_in_winter():
    summer = source_availability(solar(), half_hours("2014-01-16"), dt_hours=0.5, **MELBOURNE)
    winter = source_availability(solar(), half_hours("2014-07-08"), dt_hours=0.5, **MELBOURNE)
    assert winter.max() < 0.6 * summer.max()
    assert (winter > 0).sum() < (summer > 0).sum()
    derated = source_availability(solar(0.5), half_hours("2014-01-16"), dt_hours=0.5, **MELBOURNE)
    np.testing.assert_allclose(derated, 0.5 * summer)


def test_profile_follows_local_hours_across_dst():
    stamps = half_hours("2014-04-06")  # DST ends: 25 local hours, 50 half-hours
    profile = [hour / 23 for hour in range(24)]
    values = profile_by_local_hour(stamps, MELBOURNE["timezone"], profile)
    assert len(values) == 50
    assert values[0] == 0 and values[-1] == 1
    assert (values == profile[2]).sum() == 4  # 02:00-03:00 happens twice
    wind = SimpleNamespace(kind="wind", availability=1.0, availability_profile=profile)
    np.testing.assert_array_equal(
        source_availability(wind, stamps, dt_hours=0.5, **MELBOURNE), values
    )


def test_without_profile_a_dispatchable_source_is_constant():
    coal = SimpleNamespace(kind="coal", availability=0.92, availability_profile=[])
    values = source_availability(coal, half_hours("2014-10-05"), dt_hours=0.5, **MELBOURNE)
    assert len(values) == 46 and np.all(values == 0.92)
