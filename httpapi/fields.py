"""Serializer fields whose OpenAPI schema states exactly what they accept (issue 10).

A fuzzer reads the schema and sends what it allows; every rule a field enforces is
therefore stated in the schema too (a pattern, an enum, a range), and the field checks
that same rule, so that schema and API cannot drift apart.
"""

from __future__ import annotations

import math
import re

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

# Printable text: no C0/C1 control characters (NUL, tab, newline, escape, DEL, ...) and
# no Unicode line or paragraph separators, which would break log lines, CSV exports and
# table cells; and at least one character that is not a space. Written with \uXXXX
# escapes only, which both ECMA 262 (the schema's regex dialect) and Python's re read
# the same way. The field checks this very pattern with re.fullmatch.
_CONTROL = r"\u0000-\u001f\u007f-\u009f\u2028\u2029"
# The spaces str.strip() removes that are not already control characters above.
_SPACE = r" \u00a0\u1680\u2000-\u200a\u202f\u205f\u3000"
PRINTABLE_TEXT_PATTERN = rf"^[^{_CONTROL}]*[^{_CONTROL}{_SPACE}][^{_CONTROL}]*$"
_PRINTABLE_TEXT = re.compile(PRINTABLE_TEXT_PATTERN)


def printable_text(value: str) -> bool:
    """True if ``value`` matches PRINTABLE_TEXT_PATTERN (what the schema states)."""
    return isinstance(value, str) and _PRINTABLE_TEXT.fullmatch(value) is not None


@extend_schema_field({"type": "string", "pattern": PRINTABLE_TEXT_PATTERN})
class PrintableTextField(serializers.CharField):
    """A name: printable text (PRINTABLE_TEXT_PATTERN), surrounding spaces removed.

    The pattern and maxLength are checked on the text as sent (the schema describes the
    request, not what is stored); the stored value is stripped. JSON numbers are not
    text (DRF's CharField would turn 5 into "5").
    """

    default_error_messages = {
        "invalid": "Must be text.",
        "not_printable": (
            "Names must be printable text: no control characters or line breaks, and "
            "not only spaces."
        ),
    }

    def __init__(self, **kwargs):
        kwargs["trim_whitespace"] = False
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        if not printable_text(data):
            self.fail("not_printable")
        if self.max_length is not None and len(data) > self.max_length:
            self.fail("max_length", max_length=self.max_length)
        return data.strip()


class StrictFloatField(serializers.FloatField):
    """DRF's FloatField without its leniencies: a JSON number only (true is not 1.0,
    "1.5" is not 1.5), finite."""

    default_error_messages = {
        "boolean": "Must be a number, not true or false.",
        "invalid": "A finite number is required (not text, NaN or infinity).",
    }

    def to_internal_value(self, data):
        if isinstance(data, bool):
            self.fail("boolean")
        if not isinstance(data, int | float) or not math.isfinite(data):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictIntegerField(serializers.IntegerField):
    """DRF's IntegerField without its leniencies: a JSON integer only (not true, "3"
    or 3.0)."""

    default_error_messages = {"invalid": "A whole JSON number is required (not text or true)."}

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """DRF's BooleanField without its leniencies: JSON true or false only (not "true",
    "yes", 1 or "on")."""

    default_error_messages = {"invalid": "Must be true or false."}

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


def year_range_pattern(low: int, high: int) -> str:
    """A regex alternation matching the four-digit years ``low`` to ``high``."""
    if not 1000 <= low <= high <= 9999:
        raise ValueError("four-digit years only")
    parts = []
    year = low
    while year <= high:
        # The widest block of years starting at ``year`` that one regex item covers:
        # 1900-1999 is "19[0-9][0-9]", 2100-2109 is "210[0-9]", 2200 is "2200".
        for digits in (3, 2, 1, 0):
            size = 10**digits
            if year % size == 0 and year + size - 1 <= high:
                break
        prefix = str(year)[: 4 - digits]
        parts.append(prefix + "[0-9]" * digits)
        year += size
    return "|".join(parts)


def date_time_pattern(low: int, high: int, step_minutes: int | None = None) -> str:
    """An RFC 3339 date-time with a UTC offset, years ``low`` to ``high`` as written,
    and never outside them in UTC: on the first day of ``low`` the offset may not be
    ahead of UTC, on the last day of ``high`` not behind it.

    With ``step_minutes`` (a divisor of 60), only times on that grid in UTC: minutes and
    the offset's minutes are multiples of it, seconds and fractions zero."""
    # [0-9], not \d: Python's \d also matches other scripts' digits, ECMA 262's does not.
    minute = offset_minute = r"[0-5][0-9]"
    second = r"[0-5][0-9](?:\.[0-9]{1,6})?"
    if step_minutes is not None:
        if 60 % step_minutes:
            raise ValueError("step_minutes must divide an hour")
        minute = offset_minute = (
            "(?:" + "|".join(f"{m:02d}" for m in range(0, 60, step_minutes)) + ")"
        )
        second = r"00(?:\.0{1,6})?"
    time = rf"T(?:[01][0-9]|2[0-3]):{minute}:{second}"
    date = r"-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])"
    offset = rf"(?:Z|[+-](?:[01][0-9]|2[0-3]):{offset_minute})"
    not_before = rf"(?!{low}-01-01T[^+]*\+(?!00:00))"
    not_after = rf"(?!{high}-12-31T[^-]*-(?!00:00))"
    return rf"^{not_before}{not_after}(?:{year_range_pattern(low, high)}){date}{time}{offset}$"
