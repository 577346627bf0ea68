"""The one place where errors become HTTP: the error envelope of docs/api.md.

Domain errors (errors/__init__.py) map to a status by their class; DRF's and Django's
own exceptions keep their status and get the same envelope
``{"error": {"code", "message", "details"}}``.
"""

from __future__ import annotations

import structlog
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from django.http import Http404, JsonResponse, UnreadablePostError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

import errors

log = structlog.get_logger(__name__)

# Most specific first is not needed: the lookup walks each error's class hierarchy.
STATUS_OF_ERROR: dict[type[errors.DomainError], int] = {
    errors.InvalidInput: 400,
    errors.PermissionDenied: 403,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.TooLarge: 413,
    errors.UnsupportedMediaType: 415,
    errors.Unprocessable: 422,
    errors.RateLimited: 429,
    errors.Unavailable: 503,
    errors.DomainError: 400,
}

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


def error_body(code: str, message: str, details: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def status_of(error: errors.DomainError) -> int:
    for cls in type(error).__mro__:
        if cls in STATUS_OF_ERROR:
            return STATUS_OF_ERROR[cls]
    raise TypeError(f"{type(error).__name__} is not a DomainError")


def _first_message(detail) -> str:
    if isinstance(detail, dict):
        for key, value in detail.items():
            message = _first_message(value)
            return message if key in ("non_field_errors", "detail") else f"{key}: {message}"
        return "Invalid input."
    if isinstance(detail, list):
        return _first_message(detail[0]) if detail else "Invalid input."
    return str(detail)


def domain_error_response(error: errors.DomainError) -> Response:
    response = Response(
        error_body(error.code, error.message, error.details), status=status_of(error)
    )
    retry_after = error.details.get("retry_after_seconds")
    if response.status_code in (429, 503) and retry_after is not None:
        response["Retry-After"] = str(int(retry_after))
    return response


# Errors of a database that is unreachable, restarting or failing over.
DATABASE_DOWN = (OperationalError, InterfaceError)
DATABASE_RETRY_AFTER_SECONDS = 5


def database_unavailable() -> errors.Unavailable:
    """What an unreachable database is to a client: a 503 it may retry, never a 500.

    The driver's message names hosts and users: it is logged, not shown."""
    return errors.Unavailable(
        "The database is unavailable; retry shortly.",
        code="database_unavailable",
        details={"retry_after_seconds": DATABASE_RETRY_AFTER_SECONDS},
    )


def database_unavailable_response(request, exception):
    """For views outside DRF (dashboard, admin): energy_site/middleware.py calls this."""
    if not isinstance(exception, DATABASE_DOWN):
        return None
    error = database_unavailable()
    response = JsonResponse(error_body(error.code, error.message, error.details), status=503)
    response["Retry-After"] = str(DATABASE_RETRY_AFTER_SECONDS)
    return response


def exception_handler(exc, context):
    """DRF's EXCEPTION_HANDLER: every error the API answers goes through here."""
    if isinstance(exc, errors.DomainError):
        return domain_error_response(exc)
    if isinstance(exc, UnreadablePostError):
        # The client stopped sending its body (deploy/gunicorn.conf.py bounds each read).
        return domain_error_response(
            errors.InvalidInput(
                "The request body did not arrive in full; send it again.", code="incomplete_body"
            )
        )
    if isinstance(exc, DATABASE_DOWN):
        log.warning("database_unavailable", error=str(exc)[:300])
        return domain_error_response(database_unavailable())
    if isinstance(exc, RequestDataTooBig):
        return domain_error_response(
            errors.TooLarge("The request body is larger than the server accepts.")
        )
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        )
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        body = error_body("invalid", _first_message(exc.detail), {"fields": exc.detail})
    else:
        code = _DEFAULT_CODES.get(response.status_code, "error")
        body = error_body(code, _first_message(exc.detail))
    response.data = body
    return response


def json_404(request, exception=None):
    return JsonResponse(error_body("not_found", "Not found."), status=status.HTTP_404_NOT_FOUND)


def json_500(request):
    return JsonResponse(
        error_body("internal_error", "An unexpected error occurred; it has been logged."),
        status=status.HTTP_500_INTERNAL_SERVER_ERROR,
    )
