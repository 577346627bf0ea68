"""ISO 8601 strings to UTC, naive ones read in the city's local time.

A naive local time can slip across a DST change: it may not exist (clocks jump
forward) or exist twice (clocks fall back). A file that lists the repeated hour
twice, in order, is unambiguous: the first occurrence is daylight time, the second
standard time. Any other slip is reported and the row rejected.

A timestamp outside SUPPORTED_YEARS, as written or in UTC, rejects its row too.
"""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from cities.timestamps import SUPPORTED_YEARS, timestamp_range_message

ISO_PATTERN = (
    r"^(?P<local>\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)"
    r"(?P<offset>[Zz]|[+-]\d{2}:?\d{2})?$"
)
RANGE_REASON = timestamp_range_message("timestamps").rstrip(".") + ", in local time and in UTC."
EXPECTED_FORMAT = "ISO 8601, e.g. 2014-01-01T00:30:00+11:00 or 2014-01-01 00:30 (local time)"


@dataclass
class ParsedTimestamps:
    utc: pd.Series  # datetime64 UTC; NaT where unparseable or rejected
    unparseable: pd.Series  # bool
    rejected: pd.Series  # why a readable timestamp's row is rejected (DST slip, range), else None
    dst_resolved: int  # repeated local hours resolved by file order


def timestamps_parse(values: pd.Series, tz_name: str) -> ParsedTimestamps:
    text = values.astype(str)
    parts = text.str.extract(ISO_PATTERN)
    matched = parts["local"].notna()
    # Checked on the written year before any parsing: year 0001 or 9999 would otherwise
    # be read via the local mean time of the 1800s or overflow into year 10000 in UTC.
    written_year = pd.to_numeric(parts["local"].str[:4], errors="coerce")
    in_range = written_year.between(*SUPPORTED_YEARS)
    aware = matched & in_range & parts["offset"].notna()
    naive = matched & in_range & parts["offset"].isna()

    utc = pd.Series(pd.NaT, index=values.index, dtype="datetime64[us, UTC]")
    if aware.any():
        utc[aware] = pd.to_datetime(
            values[aware], utc=True, format="ISO8601", errors="coerce"
        ).dt.as_unit("us")
    rejected = pd.Series(None, index=values.index, dtype=object)
    dst_resolved = 0
    local = pd.to_datetime(parts["local"][naive], format="ISO8601", errors="coerce")
    local = local.dropna()
    if len(local):
        utc_naive, slip_reasons, dst_resolved = _localize(local, tz_name)
        utc[local.index] = utc_naive
        rejected[local.index] = slip_reasons
    # In range as written but not in UTC (2200-12-31T23:30-11:00, 1900-01-01 00:00 local).
    out_of_range = (matched & ~in_range) | (utc.notna() & ~utc.dt.year.between(*SUPPORTED_YEARS))
    if out_of_range.any():
        utc[out_of_range] = pd.NaT
        rejected[out_of_range] = (
            "timestamp '" + text[out_of_range].str[:40] + f"' is out of range: {RANGE_REASON}"
        )
    unparseable = utc.isna() & rejected.isna()
    return ParsedTimestamps(
        utc=utc, unparseable=unparseable, rejected=rejected, dst_resolved=dst_resolved
    )


def _localize(local: pd.Series, tz_name: str) -> tuple[pd.Series, pd.Series, int]:
    count = len(local)
    # A ZoneInfo, not the name: pandas 2 resolves names with pytz, which gets dates
    # before a zone's first recorded transition wrong (Melbourne in 1900 at LMT +9:40).
    zone = ZoneInfo(tz_name)
    as_dst = local.dt.tz_localize(zone, ambiguous=np.ones(count, bool), nonexistent="NaT")
    as_std = local.dt.tz_localize(zone, ambiguous=np.zeros(count, bool), nonexistent="NaT")
    nonexistent = as_dst.isna()
    ambiguous = ~nonexistent & (as_dst != as_std)

    chosen = as_dst.copy()
    reasons = pd.Series(None, index=local.index, dtype=object)
    reasons[nonexistent] = (
        "DST slip: local time "
        + local[nonexistent].dt.strftime("%Y-%m-%d %H:%M")
        + f" does not exist in {tz_name} (clocks jump forward); give a UTC offset"
    )
    resolved = 0
    if ambiguous.any():
        repeats = local[ambiguous]
        occurrence = repeats.groupby(repeats).cumcount()
        times_seen = repeats.groupby(repeats).transform("size")
        paired = times_seen == 2
        second = paired & (occurrence == 1)
        chosen[second[second].index] = as_std[second[second].index]
        single = ~paired
        reasons[single[single].index] = (
            "DST slip: local time "
            + repeats[single].dt.strftime("%Y-%m-%d %H:%M")
            + f" is ambiguous in {tz_name} (clocks fall back); give a UTC offset"
        )
        chosen[single[single].index] = pd.NaT
        resolved = int(paired.sum() // 2)
    return chosen.dt.tz_convert("UTC").dt.as_unit("us"), reasons, resolved
