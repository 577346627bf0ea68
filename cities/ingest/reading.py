"""Turn raw upload bytes (CSV, JSON, optionally gzipped) or a JSON list into a table of strings.

Only the structure is checked here: encoding, format, header, field counts, size.
Every cell stays a string (``""`` for missing) so that timestamps and numbers are
parsed, and their errors reported, the same way for CSV and JSON.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import zlib
from collections import Counter
from dataclasses import dataclass

import pandas as pd

from cities.ingest.errors import InvalidObservationFile, ObservationFileTooLarge
from cities.models import Observation

VALUE_COLUMNS = ("demand_mw", *Observation.WEATHER_FIELDS)
KNOWN_COLUMNS = ("timestamp", *VALUE_COLUMNS)
GZIP_MAGIC = b"\x1f\x8b"
GUNZIP_CHUNK_BYTES = 1024 * 1024


@dataclass
class RawTable:
    format: str  # "csv" or "json"
    ref_key: str  # how a row is named in reports: "line" (CSV) or "index" (JSON)
    columns: list[str]  # the value columns present, in KNOWN_COLUMNS order
    rows: pd.DataFrame  # "ref", "timestamp" and the value columns, all strings


def upload_text_read(data: bytes, *, max_bytes: int | None) -> str:
    """The checks that need no parsing: size (413, also once gunzipped), a gzip that
    unpacks, UTF-8, not empty. The API runs only these before answering 202; parsing
    and data quality run in the worker (cities/uploads.py)."""
    if not isinstance(data, bytes | bytearray):
        raise InvalidObservationFile("Expected a CSV or JSON file.")
    if max_bytes is not None and len(data) > max_bytes:
        raise ObservationFileTooLarge(len(data), max_bytes)
    data = bytes(data)
    if data[:2] == GZIP_MAGIC:
        data = _gunzip(data, max_bytes)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidObservationFile(
            f"The file is not UTF-8 text (CSV or JSON): undecodable byte at offset {exc.start}."
        ) from None
    if not text.strip():
        raise InvalidObservationFile("The file is empty.")
    return text


def looks_like_json(text: str, content_type: str | None) -> bool:
    return "json" in (content_type or "").lower() or text.lstrip()[:1] in ("[", "{")


def json_upload_shape_check(text: str) -> None:
    """What the schema says of a JSON upload, checked before the answer: valid JSON, a
    non-empty list, of objects. Loading JSON is fast (C); the slow part, reading its
    timestamps and numbers, is the worker's."""
    items = _json_loads(text)
    if not isinstance(items, list):
        raise InvalidObservationFile("The JSON body must be a list of objects.")
    if not items:
        raise InvalidObservationFile("The JSON list is empty.")
    errors = [
        {"index": index, "reason": "expected an object"}
        for index, item in enumerate(items)
        if not isinstance(item, dict)
    ]
    if errors:
        raise InvalidObservationFile(
            f"{len(errors)} item(s) of the JSON list are not objects.", errors
        )


def table_read(
    data: bytes | list, *, content_type: str | None, max_bytes: int | None, max_rows: int
) -> RawTable:
    if isinstance(data, list):
        return _json_table(data, max_rows=max_rows)
    text = upload_text_read(data, max_bytes=max_bytes)
    if looks_like_json(text, content_type):
        return _json_table(_json_loads(text), max_rows=max_rows)
    return _csv_table(text, max_rows=max_rows)


def _repeated_names(keys) -> list[str]:
    counts = Counter(str(key).strip().lower() for key in keys)
    return sorted(name for name, count in counts.items() if count > 1)


class _RepeatedKeys(dict):
    """A JSON object that named a key more than once (in any case); ``repeated`` says which."""

    def __init__(self, pairs: list[tuple], repeated: list[str]):
        super().__init__(pairs)
        self.repeated = repeated


def _object_from_pairs(pairs: list[tuple]) -> dict:
    # json.loads keeps only the last of repeated keys; the columns are case-insensitive,
    # so "demand_mw" and "DEMAND_MW" would be merged silently too.
    repeated = _repeated_names(key for key, _ in pairs)
    return _RepeatedKeys(pairs, repeated) if repeated else dict(pairs)


def _json_loads(text: str):
    try:
        return json.loads(text, object_pairs_hook=_object_from_pairs)
    except json.JSONDecodeError as exc:
        raise InvalidObservationFile(
            f"The file is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}."
        ) from None
    except ValueError:  # an integer of more than sys.get_int_max_str_digits() digits
        raise InvalidObservationFile(
            "The file is not valid JSON for observations: a number has too many digits."
        ) from None
    except RecursionError:
        raise InvalidObservationFile(
            "The file is not valid JSON: it is nested too deeply."
        ) from None


def _gunzip(data: bytes, max_bytes: int | None) -> bytes:
    """Unpacked in chunks, stopping as soon as it passes ``max_bytes``: a gzip bomb of a
    few hundred kilobytes unpacks to gigabytes."""
    chunks: list[bytes] = []
    size = 0
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
            while chunk := stream.read(GUNZIP_CHUNK_BYTES):
                size += len(chunk)
                if max_bytes is not None and size > max_bytes:
                    raise ObservationFileTooLarge.decompressed(max_bytes)
                chunks.append(chunk)
    except (OSError, EOFError, zlib.error) as exc:
        raise InvalidObservationFile(
            f"The file looks gzipped but cannot be unpacked: {exc}."
        ) from None
    return b"".join(chunks)


def _header_check(names: list[str], where: str) -> list[str]:
    """The value columns of a header; raises for any structural problem."""
    if any(not name for name in names):
        raise InvalidObservationFile(f"The {where} has an empty column name.")
    duplicated = sorted({name for name in names if names.count(name) > 1})
    if duplicated:
        raise InvalidObservationFile(f"The {where} repeats the columns {duplicated}.")
    if "timestamp" not in names:
        raise InvalidObservationFile(
            f"The {where} has no 'timestamp' column (found {names[:10]}); "
            f"expected {', '.join(KNOWN_COLUMNS)}."
        )
    unknown = [name for name in names if name not in KNOWN_COLUMNS]
    if unknown:
        raise InvalidObservationFile(
            f"The {where} has unknown columns {unknown}; allowed: {', '.join(KNOWN_COLUMNS)}."
        )
    values = [name for name in VALUE_COLUMNS if name in names]
    if not values:
        raise InvalidObservationFile(
            f"The {where} needs at least one value column besides timestamp: "
            f"{', '.join(VALUE_COLUMNS)}."
        )
    return values


def _too_many_rows(max_rows: int) -> InvalidObservationFile:
    return InvalidObservationFile(
        f"The file has more than {max_rows} rows; split it into smaller files."
    )


def _csv_table(text: str, *, max_rows: int) -> RawTable:
    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] | None = None
    refs: list[int] = []
    records: list[list[str]] = []
    errors: list[dict] = []
    try:
        for fields in reader:
            if not any(field.strip() for field in fields):
                continue  # blank lines carry nothing; line numbers still count them
            if header is None:
                header = [field.strip().lower() for field in fields]
                columns = _header_check(header, "CSV header")
                continue
            if len(fields) != len(header):
                errors.append(
                    {
                        "line": reader.line_num,
                        "reason": f"expected {len(header)} fields, found {len(fields)}",
                    }
                )
                continue
            refs.append(reader.line_num)
            records.append(fields)
            if len(refs) > max_rows:
                raise _too_many_rows(max_rows)
    except csv.Error as exc:
        raise InvalidObservationFile(
            f"The file is not a readable CSV: {exc} (line {reader.line_num})."
        ) from None
    if errors:
        raise InvalidObservationFile("Some CSV lines do not match the header.", errors)
    if not records:
        raise InvalidObservationFile("The file has a header but no data rows.")
    rows = pd.DataFrame(records, columns=header, dtype=object)
    rows = rows[["timestamp", *columns]].apply(lambda col: col.str.strip())
    rows.insert(0, "ref", refs)
    return RawTable(format="csv", ref_key="line", columns=columns, rows=rows)


def _json_cell(value) -> str | None:
    """A JSON value as the string a CSV cell would hold; None if it cannot be one."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float | str):
        return str(value).strip()
    return None


def _repeated_keys(item: dict) -> list[str]:
    if isinstance(item, _RepeatedKeys):
        return item.repeated
    return _repeated_names(item)  # a list from Python, not parsed text


def _json_table(items, *, max_rows: int) -> RawTable:
    if not isinstance(items, list):
        raise InvalidObservationFile("The JSON body must be a list of objects.")
    if not items:
        raise InvalidObservationFile("The JSON list is empty.")
    if len(items) > max_rows:
        raise _too_many_rows(max_rows)
    errors: list[dict] = []
    names: list[str] = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            errors.append({"index": index, "reason": "expected an object"})
            continue
        repeated = _repeated_keys(item)
        if repeated:
            errors.append(
                {"index": index, "reason": f"repeats the keys {repeated} (keys ignore case)"}
            )
            continue
        for key in item:
            name = str(key).strip().lower()
            if name not in names:
                names.append(name)
    if errors:
        raise InvalidObservationFile(
            "Every item of the JSON list must be an object naming each key once.", errors
        )
    columns = _header_check(names, "JSON objects' keys")
    records: list[list[str]] = []
    for index, item in enumerate(items):
        row = {str(key).strip().lower(): value for key, value in item.items()}
        if row.get("timestamp") in (None, ""):
            errors.append({"index": index, "reason": "missing timestamp"})
            continue
        names = ("timestamp", *columns)
        cells = [_json_cell(row.get(name)) for name in names]
        bad = [name for name, cell in zip(names, cells, strict=True) if cell is None]
        if bad:
            errors.append({"index": index, "reason": f"{bad[0]} must be a string or a number"})
            continue
        records.append([index, *cells])
    if errors:
        raise InvalidObservationFile("Some JSON items cannot be read.", errors)
    rows = pd.DataFrame(records, columns=["ref", "timestamp", *columns])
    return RawTable(format="json", ref_key="index", columns=columns, rows=rows)
