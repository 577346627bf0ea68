"""Middleware of the site: what must run before everything else, and Django's own where
the API does not need it."""

import structlog
from django.contrib.messages.middleware import MessageMiddleware
from django.http import JsonResponse

from httpapi.exceptions import database_unavailable_response, error_body

log = structlog.get_logger(__name__)


class RejectMalformedContentLength:
    """Answer a non-numeric Content-Length (400) or a chunked body (411) in the envelope.

    django-prometheus (and Django itself) call int() on the header; gunicorn refuses
    such requests, but other WSGI servers pass them through and they would be 500s.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        length = request.META.get("CONTENT_LENGTH", "")
        if length and not (length.isascii() and length.isdigit()):
            return JsonResponse(
                error_body("invalid", "The Content-Length header is not a whole number."),
                status=400,
            )
        if not length and "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower():
            # Django reads a body only up to Content-Length: without one a chunked
            # body would silently be taken as empty.
            return JsonResponse(
                error_body("length_required", "Send the body with a Content-Length header."),
                status=411,
            )
        return self.get_response(request)


class DatabaseUnavailable:
    """A 503 in the error envelope, not a 500, when the database is unreachable in a view
    outside DRF (the dashboard, the admin, health); DRF views get the same answer from
    httpapi/exceptions.py. Either way the service recovers by itself: connections are
    health-checked before reuse (CONN_HEALTH_CHECKS)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        response = database_unavailable_response(request, exception)
        if response is not None:
            log.warning("database_unavailable", path=request.path, error=str(exception)[:300])
        return response


class MessagesOutsideTheApi(MessageMiddleware):
    """Django's messages for the admin and the dashboard, not for ``/api/``: nothing
    under it reads or writes messages, and setting up their storage (a cookie signer
    per request) was a twentieth of the server time of a cached read of the API."""

    def process_request(self, request):
        if not request.path_info.startswith("/api/"):
            super().process_request(request)
