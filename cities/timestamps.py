"""Which timestamps the service accepts, and reading time windows from query strings."""

from __future__ import annotations

import re
import zoneinfo
from datetime import UTC, datetime

import errors
from httpapi.fields import date_time_pattern

# Timestamps outside these years are rejected as input: they are typos (year 0001 or
# 9999), pre-standard-time local mean times, or overflow the databases' datetime range.
SUPPORTED_YEARS = (1900, 2200)

# What the OpenAPI schema says of a timestamp the API takes: RFC 3339 with a UTC offset,
# within SUPPORTED_YEARS as written and in UTC (httpapi.fields.date_time_pattern).
DATE_TIME_PATTERN = date_time_pattern(*SUPPORTED_YEARS)
DATE_TIME_SCHEMA = {
    "type": "string",
    "format": "date-time",
    "pattern": DATE_TIME_PATTERN,
    "description": (
        f"ISO 8601 with a UTC offset, between the years {SUPPORTED_YEARS[0]} and "
        f"{SUPPORTED_YEARS[1]} (as written and in UTC)."
    ),
}


def timestamp_supported(value) -> bool:
    """True if an aware or naive datetime/Timestamp lies within SUPPORTED_YEARS."""
    return SUPPORTED_YEARS[0] <= value.year <= SUPPORTED_YEARS[1]


def timestamp_supported_everywhere(value: datetime) -> bool:
    """True if an aware datetime lies within SUPPORTED_YEARS as written and in UTC."""
    # Checked as written first: converting 9999-12-31T23:59-01:00 to UTC overflows.
    return timestamp_supported(value) and timestamp_supported(value.astimezone(UTC))


def timestamp_range_message(name: str) -> str:
    low, high = SUPPORTED_YEARS
    return f"{name} must lie between the years {low} and {high}."


def query_datetime_parse(raw: str | None, name: str, tz_name: str | None) -> datetime | None:
    """A query-string time. ISO 8601; naive values are in ``tz_name`` (a 400 when it is
    None, e.g. a query across cities). An unencoded ``+`` arrives as a space and is put
    back."""
    if raw is None:
        return None
    if not raw.strip():
        # The schema says date-time: an empty value is an error, not "no bound".
        raise errors.InvalidInput(
            f"{name} must not be empty; leave the parameter out for no bound.",
            details={"field": name, "value": raw},
        )
    text = re.sub(r" (\d{2}:?\d{2})$", r"+\1", raw.strip())
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise errors.InvalidInput(
            f"{name} must be an ISO 8601 date-time, e.g. 2014-10-01T00:00:00+10:00.",
            details={"field": name, "value": raw[:60]},
        ) from None
    if value.tzinfo is None:
        if tz_name is None:
            raise errors.InvalidInput(f"{name} needs a UTC offset: {raw[:60]!r}.")
        value = value.replace(tzinfo=zoneinfo.ZoneInfo(tz_name))
    if not timestamp_supported_everywhere(value):
        raise errors.InvalidInput(
            timestamp_range_message(name), details={"field": name, "value": raw[:60]}
        )
    return value


def time_window_parse(params, tz_name: str | None) -> tuple[datetime | None, datetime | None]:
    """``start`` (inclusive) and ``end`` (exclusive) from query ``params``; either may be
    absent, and when both are given start must come first."""
    start = query_datetime_parse(params.get("start"), "start", tz_name)
    end = query_datetime_parse(params.get("end"), "end", tz_name)
    if start and end and start > end:
        raise errors.InvalidInput("start must not be after end.", details={"field": "start"})
    return start, end
