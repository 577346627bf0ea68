"""API-wide conventions: the error envelope, pagination and input parsing of api.md."""

import re
import zoneinfo
from datetime import UTC, datetime

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


class Pagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 5000


class ApiError(exceptions.APIException):
    """Raise with any status code, a machine-readable code and details."""

    def __init__(self, status_code: int, code: str, message: str, details: dict | None = None):
        self.status_code = status_code
        self.code = code
        self.details = details or {}
        super().__init__(detail=message, code=code)


def error_body(code: str, message: str, details: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "details": details or {}}}


_DEFAULT_CODES = {
    400: "invalid",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "unprocessable",
    429: "throttled",
    503: "unavailable",
}


def _first_message(detail) -> str:
    if isinstance(detail, dict):
        for key, value in detail.items():
            message = _first_message(value)
            return message if key in ("non_field_errors", "detail") else f"{key}: {message}"
        return "Invalid input."
    if isinstance(detail, list):
        return _first_message(detail[0]) if detail else "Invalid input."
    return str(detail)


def exception_handler(exc, context):
    if isinstance(exc, RequestDataTooBig):
        exc = ApiError(413, "too_large", "The request body is larger than the server accepts.")
    elif isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        )
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, ApiError):
        body = error_body(exc.code, str(exc.detail), exc.details)
    elif isinstance(exc, exceptions.ValidationError):
        body = error_body("invalid", _first_message(exc.detail), {"fields": exc.detail})
    else:
        code = _DEFAULT_CODES.get(response.status_code, "error")
        body = error_body(code, _first_message(exc.detail))
    response.data = body
    retry_after = body["error"]["details"].get("retry_after_seconds")
    if response.status_code == 429 and retry_after is not None:
        response["Retry-After"] = str(int(retry_after))
    return response


def error_response(status_code: int, code: str, message: str, details: dict | None = None):
    return Response(error_body(code, message, details), status=status_code)


def json_404(request, exception=None):
    return JsonResponse(error_body("not_found", "Not found."), status=status.HTTP_404_NOT_FOUND)


def json_500(request):
    return JsonResponse(
        error_body("internal_error", "An unexpected error occurred; it has been logged."),
        status=status.HTTP_500_INTERNAL_SERVER_ERROR,
    )


# Timestamps outside these years are rejected as input: they are typos (year 0001 or
# 9999), pre-standard-time local mean times, or overflow the databases' datetime range.
SUPPORTED_YEARS = (1900, 2200)


def timestamp_supported(value) -> bool:
    """True if an aware or naive datetime/Timestamp lies within SUPPORTED_YEARS."""
    return SUPPORTED_YEARS[0] <= value.year <= SUPPORTED_YEARS[1]


def timestamp_range_message(name: str) -> str:
    low, high = SUPPORTED_YEARS
    return f"{name} must lie between the years {low} and {high}."


MAX_ID = 2**63 - 1  # the largest value a BigAutoField holds


def is_database_id(text: str) -> bool:
    """True for the text of a positive id a BigAutoField can hold."""
    # str.isdigit() accepts "²" and other non-ASCII digits that int() rejects.
    return text.isascii() and text.isdigit() and 0 < int(text) <= MAX_ID


def parse_id(raw, name: str) -> int:
    """A positive database id from client input, or a 400 naming the field."""
    text = str(raw)
    if not is_database_id(text):
        raise ApiError(400, "invalid", f"{name} must be a positive integer id, not {text!r}.")
    return int(text)


def query_datetime_parse(raw: str | None, name: str, tz_name: str | None) -> datetime | None:
    """A query-string time. ISO 8601; naive values are in ``tz_name`` (a 400 when it is
    None, e.g. a query across cities). An unencoded ``+`` arrives as a space and is put
    back."""
    if raw is None or raw == "":
        return None
    text = re.sub(r" (\d{2}:?\d{2})$", r"+\1", raw.strip())
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ApiError(
            400,
            "invalid",
            f"{name} must be an ISO 8601 date-time, e.g. 2014-10-01T00:00:00+10:00.",
            {"field": name, "value": raw[:60]},
        ) from None
    if value.tzinfo is None:
        if tz_name is None:
            raise ApiError(400, "invalid", f"{name} needs a UTC offset: {raw[:60]!r}.")
        value = value.replace(tzinfo=zoneinfo.ZoneInfo(tz_name))
    # Checked as written first: converting 9999-12-31T23:59-01:00 to UTC overflows.
    if not (timestamp_supported(value) and timestamp_supported(value.astimezone(UTC))):
        raise ApiError(
            400,
            "invalid",
            timestamp_range_message(name),
            {"field": name, "value": raw[:60]},
        )
    return value
