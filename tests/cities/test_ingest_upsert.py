"""observations_upsert: keyed on (city, timestamp), column-preserving, all or nothing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cities.models import Observation
from cities.services import UPSERT_BATCH_SIZE, observations_upsert


def stored(city) -> pd.DataFrame:
    rows = Observation.objects.filter(city=city).values_list(
        "timestamp", "demand_mw", "temperature_c"
    )
    frame = pd.DataFrame.from_records(
        list(rows), columns=["timestamp", "demand_mw", "temperature_c"]
    )
    return frame.set_index(pd.to_datetime(frame.pop("timestamp"), utc=True))


@pytest.mark.django_db
def test_upserting_the_same_frame_twice_never_duplicates(city, victoria):
    week = victoria.loc["2014-07-01":"2014-07-07"]

    assert observations_upsert(city=city, frame=week) == len(week)
    assert observations_upsert(city=city, frame=week) == len(week)

    assert Observation.objects.filter(city=city).count() == len(week)
    pd.testing.assert_frame_equal(
        stored(city), week, check_index_type=False, check_freq=False, check_names=False
    )


@pytest.mark.django_db
def test_a_temperature_only_frame_keeps_demand(city, victoria):
    day = victoria.loc["2014-07-01"]
    observations_upsert(city=city, frame=day)
    corrected = day[["temperature_c"]] + 1.5

    observations_upsert(city=city, frame=corrected)

    result = stored(city)
    np.testing.assert_allclose(result["demand_mw"], day["demand_mw"])
    np.testing.assert_allclose(result["temperature_c"], day["temperature_c"] + 1.5)


@pytest.mark.django_db
def test_an_empty_cell_does_not_erase_a_stored_value(city, victoria):
    day = victoria.loc["2014-07-01"]
    observations_upsert(city=city, frame=day)
    partial = day.copy()
    partial.iloc[:10, 0] = np.nan  # no demand on the first ten rows
    partial["temperature_c"] = 11.0

    observations_upsert(city=city, frame=partial)

    result = stored(city)
    np.testing.assert_allclose(result["demand_mw"], day["demand_mw"])
    assert (result["temperature_c"] == 11.0).all()


@pytest.mark.django_db
def test_a_failure_part_way_leaves_the_table_unchanged(city, victoria):
    before = victoria.loc["2014-07-01"]
    observations_upsert(city=city, frame=before)
    bigger = victoria.loc["2014-06-01":"2014-07-31"] * 2  # more than one batch
    assert len(bigger) > UPSERT_BATCH_SIZE

    def fail_after_first_batch(rows: int) -> None:
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        observations_upsert(city=city, frame=bigger, progress=fail_after_first_batch)

    pd.testing.assert_frame_equal(
        stored(city), before, check_index_type=False, check_freq=False, check_names=False
    )


@pytest.mark.django_db
def test_unknown_columns_are_refused_before_writing(city, victoria):
    with pytest.raises(ValueError, match="price"):
        observations_upsert(city=city, frame=victoria.iloc[:5].assign(price=1.0))
    assert not Observation.objects.exists()


def summary(city) -> tuple:
    city.refresh_from_db()
    return (
        city.observation_count,
        city.first_observation,
        city.last_observation,
        city.observations_changed_at,
    )


@pytest.mark.django_db
def test_the_city_summary_follows_every_upsert(city, victoria):
    assert summary(city) == (0, None, None, None)
    july = victoria.loc["2014-07-01":"2014-07-07"]
    observations_upsert(city=city, frame=july)
    count, first, last, changed = summary(city)
    assert (count, first, last) == (len(july), july.index[0], july.index[-1])

    june = victoria.loc["2014-06-30"]  # earlier rows, and the week again
    observations_upsert(city=city, frame=pd.concat([june, july]))

    count, first, last, changed_again = summary(city)
    assert count == Observation.objects.filter(city=city).count() == len(june) + len(july)
    assert (first, last) == (june.index[0], july.index[-1])
    assert changed_again > changed  # training reads new data from this


@pytest.mark.django_db
def test_a_frame_without_values_or_a_failed_upsert_leaves_the_summary(city, victoria):
    day = victoria.loc["2014-07-01"]
    observations_upsert(city=city, frame=day)
    before = summary(city)

    assert observations_upsert(city=city, frame=day * np.nan) == 0
    with pytest.raises(RuntimeError):
        observations_upsert(
            city=city,
            frame=victoria.loc["2014-06-01":"2014-06-30"],
            progress=lambda rows: (_ for _ in ()).throw(RuntimeError("disk full")),
        )

    assert summary(city) == before


@pytest.mark.needs_server  # SQLite's in-memory test database cannot be shared by threads
@pytest.mark.django_db(transaction=True)
def test_concurrent_uploads_to_one_city_are_both_counted(city, victoria):
    """Two uploads of one city at once on PostgreSQL, both past their inserts before
    either counts: the last commit's summary counts both. Without the city row lock
    taken before counting, each counted only its own month (1,488 of 2,976 rows)."""
    from concurrent.futures import ThreadPoolExecutor
    from threading import Barrier

    from django.db import connection

    months = [victoria.loc["2014-05"], victoria.loc["2014-07"]]  # one batch each
    assert all(len(month) <= UPSERT_BATCH_SIZE for month in months)
    both_inserted = Barrier(2, timeout=30)

    def upload(frame) -> int:
        try:
            return observations_upsert(
                city=city, frame=frame, progress=lambda rows: both_inserted.wait()
            )
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=2) as pool:
        written = [f.result(timeout=120) for f in [pool.submit(upload, m) for m in months]]

    assert written == [len(m) for m in months]
    count, first, last, _ = summary(city)
    assert count == Observation.objects.filter(city=city).count() == sum(map(len, months))
    assert (first, last) == (months[0].index[0], months[1].index[-1])
