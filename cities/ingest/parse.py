"""The one parser the API, the command and the worker share: bytes in, frame and report out.

What makes the whole FILE invalid (InvalidObservationFile -> 400, nothing written):
not UTF-8 CSV/JSON, empty, no data rows, a header without ``timestamp`` or with an
unknown or repeated column (or JSON key, in any case), no value column, lines with the
wrong number of fields, unparseable timestamps or numbers, the same timestamp twice with
different values, more than ``INGEST_MAX_ROWS`` rows, no row left once the rejected
rows are dropped (the 400 lists them). Over ``UPLOAD_MAX_BYTES``: ObservationFileTooLarge
(413). All of these mean the file was not produced the way the sender thinks.

What only REJECTS ROWS (listed in the report, the rest is upserted): DST slips,
timestamps outside SUPPORTED_YEARS (as written or in UTC), timestamps off the city's
interval grid, negative or absurd demand, impossible
weather values, rows with no values. Exact duplicate rows are dropped.

What only WARNS: rows out of order (sorted), missing intervals, flat-lined meters,
demand outliers.
"""

from __future__ import annotations

import pandas as pd
from django.conf import settings

from cities.ingest import quality
from cities.ingest.errors import InvalidObservationFile
from cities.ingest.reading import RawTable, table_read
from cities.ingest.timestamps import EXPECTED_FORMAT, timestamps_parse

MISSING_TOKENS = {"", "na", "n/a", "nan", "null", "none"}
REFS_LISTED = 100
DEFAULT_MAX_ROWS = 500_000


def observations_file_parse(
    data: bytes | list,
    *,
    content_type: str | None,
    city,
    max_bytes: int | None = -1,
    max_rows: int | None = None,
) -> tuple[pd.DataFrame, dict]:
    """Parse and check an upload for ``city``.

    Returns the accepted rows as a UTC-indexed float frame (only the columns the
    file has) and the data-quality report (JSON-serialisable). ``max_bytes`` -1
    means settings.UPLOAD_MAX_BYTES, None no limit.
    """
    if max_bytes == -1:
        max_bytes = settings.UPLOAD_MAX_BYTES
    if max_rows is None:
        max_rows = getattr(settings, "INGEST_MAX_ROWS", DEFAULT_MAX_ROWS)
    table = table_read(data, content_type=content_type, max_bytes=max_bytes, max_rows=max_rows)
    rows, stamps = _typed_rows(table, city.timezone)

    rejected: dict = {label: reason for label, reason in stamps.rejected.dropna().items()}
    valid = rows[rows["timestamp"].notna()]
    duplicate_labels = _duplicates_check(valid, table)
    valid = valid.drop(index=duplicate_labels)
    order = _unsorted(valid["timestamp"], valid["ref"])

    misaligned = quality.misaligned_rows(valid["timestamp"], city.timezone, city.resolution_minutes)
    for label in misaligned[misaligned].index:
        rejected.setdefault(
            label, f"timestamp not aligned to the {city.resolution_minutes}-minute resolution"
        )
    for label, reason in quality.value_rejections(valid, table.columns).items():
        rejected.setdefault(label, reason)

    accepted = valid.drop(index=[label for label in rejected if label in valid.index])
    if accepted.empty:
        raise InvalidObservationFile(
            "No row of the file can be imported; nothing was imported.",
            _rejected_list(rows, rejected, table.ref_key),
        )
    accepted = accepted.sort_values("timestamp")
    frame = accepted.set_index("timestamp")[table.columns].astype("float64")
    frame.index.name = "timestamp"
    refs = accepted.set_index("timestamp")["ref"]
    report = _report(table, city, rows, frame, refs, rejected, duplicate_labels, order, stamps)
    return frame, report


def _typed_rows(table: RawTable, tz_name: str):
    """Timestamps to UTC and cells to floats; raises for anything unreadable."""
    raw = table.rows
    stamps = timestamps_parse(raw["timestamp"], tz_name)
    errors: list[dict] = []
    for label in stamps.unparseable[stamps.unparseable].index:
        errors.append(
            {
                table.ref_key: int(raw.at[label, "ref"]),
                "reason": f"unparseable timestamp '{raw.at[label, 'timestamp'][:40]}' "
                f"(expected {EXPECTED_FORMAT})",
            }
        )
    typed = pd.DataFrame({"ref": raw["ref"].astype(int), "timestamp": stamps.utc})
    for name in table.columns:
        cells = raw[name].astype(str)
        missing = cells.str.lower().isin(MISSING_TOKENS)
        numbers = pd.to_numeric(cells.where(~missing), errors="coerce")
        for label in numbers[numbers.isna() & ~missing].index:
            errors.append(
                {
                    table.ref_key: int(raw.at[label, "ref"]),
                    "reason": f"{name} '{cells[label][:40]}' is not a number",
                }
            )
        typed[name] = numbers.astype("float64")
    if errors:
        errors.sort(key=lambda error: error[table.ref_key])
        raise InvalidObservationFile(
            f"The file has {len(errors)} unreadable value(s); nothing was imported.", errors
        )
    return typed, stamps


def _duplicates_check(valid: pd.DataFrame, table: RawTable) -> list:
    """Labels of exact repeats to drop; raises if a timestamp repeats with other values."""
    value_columns = ["timestamp", *table.columns]
    repeat = valid.duplicated(subset=["timestamp"], keep="first")
    exact = valid.duplicated(subset=value_columns, keep="first")
    conflicting = repeat & ~exact
    if conflicting.any():
        first_ref = valid.groupby("timestamp")["ref"].first()
        errors = [
            {
                table.ref_key: int(row.ref),
                "reason": f"conflicting duplicate: {quality.iso(row.timestamp)} is also on "
                f"{table.ref_key} {int(first_ref[row.timestamp])} with different values",
            }
            for row in valid[conflicting].itertuples()
        ]
        raise InvalidObservationFile(
            "The file has the same timestamp more than once with different values.", errors
        )
    return list(exact[exact].index)


def _unsorted(timestamps: pd.Series, refs: pd.Series) -> dict | None:
    if timestamps.empty:
        return None
    behind = timestamps < timestamps.cummax().shift(fill_value=timestamps.iloc[0])
    if not behind.any():
        return None
    return {"rows": int(behind.sum()), "first_ref": int(refs[behind].iloc[0])}


def _rejected_list(rows: pd.DataFrame, rejected: dict, key: str) -> list[dict]:
    return sorted(
        ({key: int(rows.at[label, "ref"]), "reason": reason} for label, reason in rejected.items()),
        key=lambda item: item[key],
    )


def _report(table, city, rows, frame, refs, rejected, duplicate_labels, order, stamps) -> dict:
    key = table.ref_key
    rejected_list = _rejected_list(rows, rejected, key)
    gaps = quality.gaps_find(frame.index, city.resolution_minutes)
    warnings: list[dict] = []
    if order:
        warnings.append(
            {
                "code": "unsorted",
                "message": f"{order['rows']} row(s) were out of time order (first at {key} "
                f"{order['first_ref']}); they were sorted.",
            }
        )
    if duplicate_labels:
        warnings.append(
            {
                "code": "duplicates",
                "message": f"{len(duplicate_labels)} exact duplicate row(s) were dropped.",
                key + "s": sorted(int(rows.at[label, "ref"]) for label in duplicate_labels)[
                    :REFS_LISTED
                ],
            }
        )
    if gaps["count"]:
        warnings.append(
            {
                "code": "gaps",
                "message": f"{gaps['missing_intervals']} interval(s) missing in "
                f"{gaps['count']} gap(s).",
            }
        )
    if "demand_mw" in frame:
        flat = quality.flatlines_find(frame["demand_mw"], city.resolution_minutes)
        if flat:
            warnings.append(
                {
                    "code": "flatline",
                    "message": f"{len(flat)} period(s) of at least {quality.FLATLINE_MIN_HOURS} "
                    "hours with identical demand (a stuck meter?).",
                    "ranges": flat[: quality.RANGES_LISTED],
                }
            )
        outliers = quality.outliers_find(frame["demand_mw"], refs, city.resolution_minutes, key)
        if outliers:
            warnings.append(
                {
                    "code": "outliers",
                    "message": f"{len(outliers)} demand value(s) far from the day's profile "
                    f"(robust z-score above {quality.OUTLIER_Z:g}).",
                    "rows": outliers[: quality.ROWS_LISTED],
                }
            )
    return {
        "format": table.format,
        "columns": table.columns,
        "resolution_minutes": city.resolution_minutes,
        "rows_read": len(rows),
        "rows_accepted": len(frame),
        "rows_rejected": len(rejected_list),
        "rejected": rejected_list[:REFS_LISTED],
        "duplicates_dropped": len(duplicate_labels),
        "dst_repeated_hours_resolved": stamps.dst_resolved,
        "first_timestamp": quality.iso(frame.index[0]) if len(frame) else None,
        "last_timestamp": quality.iso(frame.index[-1]) if len(frame) else None,
        "gaps": gaps,
        "warnings": warnings,
    }
