"""The upload parser and its data-quality report (pure: no database)."""

from __future__ import annotations

import gzip
import json

import pandas as pd
import pytest

from cities.ingest import InvalidObservationFile, ObservationFileTooLarge, observations_file_parse
from cities.models import City
from cities.sample_data import SAMPLE_CSV

MELBOURNE = City(name="Melbourne", timezone="Australia/Melbourne", resolution_minutes=30)


def parse(text: str | bytes, **kwargs):
    data = text.encode() if isinstance(text, str) else text
    return observations_file_parse(data, content_type="text/csv", city=MELBOURNE, **kwargs)


def csv_of(rows: list[tuple], header="timestamp,demand_mw,temperature_c") -> str:
    return header + "\n" + "\n".join(",".join(str(v) for v in row) for row in rows) + "\n"


def half_hours(start: str, count: int) -> list[str]:
    stamps = pd.date_range(start, periods=count, freq="30min", tz="UTC")
    return [ts.strftime("%Y-%m-%dT%H:%M:%SZ") for ts in stamps]


def invalid(text, **kwargs) -> InvalidObservationFile:
    with pytest.raises(InvalidObservationFile) as caught:
        parse(text, **kwargs)
    return caught.value


def test_shipped_sample_parses_without_rejections_or_gaps(victoria):
    frame, report = parse(SAMPLE_CSV.read_bytes())  # gzipped as shipped

    assert report["rows_read"] == len(victoria)
    assert report["rows_accepted"] == len(victoria)
    assert report["rows_rejected"] == 0 and report["rejected"] == []
    assert report["gaps"] == {"count": 0, "missing_intervals": 0, "ranges": []}
    assert report["duplicates_dropped"] == 0
    assert report["first_timestamp"] == "2013-12-31T14:00:00Z"
    pd.testing.assert_frame_equal(frame, victoria, check_index_type=False, check_freq=False)


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("this is not a csv at all\njust some words\n", "no 'timestamp' column"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe binary", "not UTF-8"),
        ("", "empty"),
        ("   \n\n", "empty"),
        ("timestamp,demand_mw\n", "no data rows"),
        ("time,demand_mw\n2014-01-01T00:00Z,1\n", "no 'timestamp' column"),
        ("timestamp,demand_mw,colour\n2014-01-01T00:00Z,1,red\n", "unknown columns ['colour']"),
        ("timestamp\n2014-01-01T00:00Z\n", "at least one value column"),
        ("timestamp,demand_mw,demand_mw\n2014-01-01T00:00Z,1,2\n", "repeats the columns"),
        ("[1, 2", "not valid JSON"),
        ('{"timestamp": "2014-01-01T00:00Z"}', "must be a list"),
        ("[]", "empty"),
    ],
)
def test_structurally_broken_files_are_invalid(content, needle):
    assert needle in invalid(content).message


def test_unparseable_timestamp_names_its_line():
    stamps = half_hours("2014-01-01", 5)
    stamps[3] = "01/01/2014 01:30"  # data row 4 = line 5 (the header is line 1)
    error = invalid(csv_of([(ts, 4000, 20) for ts in stamps]))

    assert [e["line"] for e in error.errors] == [5]
    assert "unparseable timestamp '01/01/2014 01:30'" in error.errors[0]["reason"]


def test_unparseable_number_and_wrong_field_count_name_their_lines():
    rows = [(ts, 4000, 20) for ts in half_hours("2014-01-01", 4)]
    rows[1] = (rows[1][0], "4,1k", 20)  # an extra comma: 4 fields
    rows[2] = (rows[2][0], "lots", 20)
    error = invalid(csv_of(rows))
    assert [e["line"] for e in error.errors] == [3]
    assert "expected 3 fields, found 4" in error.errors[0]["reason"]

    rows[1] = (rows[1][0], 4000, 20)
    error = invalid(csv_of(rows))
    assert error.errors == [{"line": 4, "reason": "demand_mw 'lots' is not a number"}]


def test_conflicting_duplicates_make_the_file_invalid():
    stamps = half_hours("2014-01-01", 4)
    rows = [(ts, 4000 + i, 20) for i, ts in enumerate(stamps)] + [(stamps[1], 9999, 20)]
    error = invalid(csv_of(rows))

    assert error.errors[0]["line"] == 6
    assert "conflicting duplicate" in error.errors[0]["reason"]
    assert "line 3" in error.errors[0]["reason"]


def test_exact_duplicates_are_dropped_and_reported():
    stamps = half_hours("2014-01-01", 4)
    rows = [(ts, 4000 + i, 20) for i, ts in enumerate(stamps)] + [(stamps[2], 4002, 20)]
    frame, report = parse(csv_of(rows))

    assert len(frame) == 4
    assert report["duplicates_dropped"] == 1
    duplicates = next(w for w in report["warnings"] if w["code"] == "duplicates")
    assert duplicates["lines"] == [6]


def test_bad_values_reject_their_rows_and_keep_the_others():
    rows = [(ts, 4000 + i, 20) for i, ts in enumerate(half_hours("2014-01-01", 8))]
    rows[2] = (rows[2][0], -5, 20)  # line 4
    rows[4] = (rows[4][0], 4004, 75)  # line 6
    rows[5] = (rows[5][0], 250_000, 20)  # line 7
    rows[6] = (rows[6][0], 4000 * 25, 20)  # line 8: 100 000 is within the hard cap but 25x median
    frame, report = parse(csv_of(rows))

    assert report["rows_accepted"] == 4 == len(frame)
    assert [item["line"] for item in report["rejected"]] == [4, 6, 7, 8]
    reasons = [item["reason"] for item in report["rejected"]]
    assert reasons[0].startswith("negative demand_mw")
    assert "absurd temperature_c 75.0" in reasons[1]
    assert "100,000 MW" in reasons[2]
    assert "20x the file's median" in reasons[3]
    # The holes left by rejected rows are reported as gaps.
    assert report["gaps"]["missing_intervals"] == 4


def test_naive_local_times_and_dst_slips():
    text = csv_of(
        [
            ("2014-04-06 01:30", 4000, 15),  # line 2: AEDT
            ("2014-04-06 02:30", 4001, 15),  # line 3: ambiguous (clocks fall back at 03:00)
            ("2014-10-05 01:30", 4002, 15),  # line 4: AEST
            ("2014-10-05 02:30", 4003, 15),  # line 5: does not exist (02:00 -> 03:00)
        ]
    )
    frame, report = parse(text)

    assert list(frame.index) == [
        pd.Timestamp("2014-04-05T14:30Z"),
        pd.Timestamp("2014-10-04T15:30Z"),
    ]
    rejected = {item["line"]: item["reason"] for item in report["rejected"]}
    assert set(rejected) == {3, 5}
    assert rejected[3].startswith("DST slip") and "ambiguous" in rejected[3]
    assert rejected[5].startswith("DST slip") and "does not exist" in rejected[5]


def test_a_repeated_local_hour_listed_twice_in_order_is_resolved():
    local = ["2014-04-06 02:00", "2014-04-06 02:30", "2014-04-06 02:00", "2014-04-06 02:30"]
    frame, report = parse(csv_of([(ts, 4000 + i, 15) for i, ts in enumerate(local)]))

    assert report["rows_rejected"] == 0
    assert report["dst_repeated_hours_resolved"] == 2
    assert list(frame.index) == list(pd.date_range("2014-04-05T15:00Z", periods=4, freq="30min"))
    assert list(frame["demand_mw"]) == [4000, 4001, 4002, 4003]


def test_offsets_are_honoured_and_unsorted_rows_are_sorted():
    text = csv_of(
        [
            ("2014-01-01T02:00:00+11:00", 3, 20),
            ("2013-12-31T14:00:00Z", 1, 20),
            ("2014-01-01T01:30:00+1100", 2, 20),
        ]
    )
    frame, report = parse(text)

    assert list(frame["demand_mw"]) == [1, 2, 3]
    assert frame.index[0] == pd.Timestamp("2013-12-31T14:00Z")
    unsorted = next(w for w in report["warnings"] if w["code"] == "unsorted")
    assert "first at line 3" in unsorted["message"]


def test_gaps_and_misaligned_timestamps():
    stamps = half_hours("2014-01-01", 10)
    kept = stamps[:3] + stamps[6:]  # 3 intervals missing
    rows = [(ts, 4000, 20) for ts in kept] + [("2014-01-01T05:10:00Z", 4000, 20)]
    frame, report = parse(csv_of(rows))

    assert report["gaps"]["count"] == 1
    assert report["gaps"]["ranges"] == [
        {"start": "2014-01-01T01:30:00Z", "end": "2014-01-01T02:30:00Z", "missing_intervals": 3}
    ]
    assert report["rejected"] == [
        {"line": 9, "reason": "timestamp not aligned to the 30-minute resolution"}
    ]


def test_flat_lined_meter_is_a_warning_with_its_range():
    stamps = half_hours("2014-01-01", 30)
    demand = [4000 + i for i in range(30)]
    demand[5:18] = [4321.0] * 13  # 6.5 hours stuck
    frame, report = parse(csv_of(list(zip(stamps, demand, [20] * 30, strict=True))))

    assert report["rows_accepted"] == 30
    flat = next(w for w in report["warnings"] if w["code"] == "flatline")
    assert flat["ranges"] == [
        {
            "start": stamps[5],
            "end": stamps[17],
            "hours": 6.5,
            "demand_mw": 4321.0,
        }
    ]

    demand[5:18] = [4321.0] * 11 + [1, 2]  # 5.5 hours: a quiet night, not a stuck meter
    _, report = parse(csv_of(list(zip(stamps, demand, [20] * 30, strict=True))))
    assert "flatline" not in [w["code"] for w in report["warnings"]]


def test_demand_outliers_are_flagged_on_real_data(victoria):
    week = victoria.loc["2014-06-01":"2014-06-07"].copy()
    spike_at = week.index[150]
    week.loc[spike_at, "demand_mw"] *= 2.5
    text = week.to_csv()
    frame, report = parse(text)

    assert report["rows_accepted"] == len(week)  # outliers warn, they are not rejected
    outliers = next(w for w in report["warnings"] if w["code"] == "outliers")
    assert [row["line"] for row in outliers["rows"]] == [152]
    assert outliers["rows"][0]["timestamp"] == spike_at.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_json_list_gives_the_same_frame_and_indexes_errors(victoria):
    day = victoria.iloc[:48]
    items = [
        {
            "timestamp": ts.isoformat(),
            "demand_mw": row.demand_mw,
            "temperature_c": row.temperature_c,
        }
        for ts, row in day.iterrows()
    ]
    frame, report = observations_file_parse(items, content_type=None, city=MELBOURNE)
    assert report["format"] == "json" and report["rows_accepted"] == 48
    pd.testing.assert_frame_equal(frame, day, check_index_type=False, check_freq=False)

    from_bytes, _ = observations_file_parse(
        json.dumps(items).encode(), content_type="application/json", city=MELBOURNE
    )
    pd.testing.assert_frame_equal(from_bytes, frame)

    items[7]["timestamp"] = "yesterday"
    items[9]["demand_mw"] = True
    with pytest.raises(InvalidObservationFile) as caught:
        observations_file_parse(items, content_type=None, city=MELBOURNE)
    assert [e["index"] for e in caught.value.errors] == [9]  # item-level errors come first
    items[9]["demand_mw"] = 1.0
    with pytest.raises(InvalidObservationFile) as caught:
        observations_file_parse(items, content_type=None, city=MELBOURNE)
    assert [e["index"] for e in caught.value.errors] == [7]


def test_size_and_row_limits():
    text = csv_of([(ts, 4000, 20) for ts in half_hours("2014-01-01", 10)])
    with pytest.raises(ObservationFileTooLarge):
        parse(text, max_bytes=100)
    with pytest.raises(ObservationFileTooLarge):  # a gzip bomb is measured unpacked
        parse(gzip.compress(("x" * 10_000).encode()), max_bytes=200)
    assert "more than 5 rows" in invalid(text, max_rows=5).message
    frame, _ = parse(text, max_rows=10)
    assert len(frame) == 10
