"""Middleware that must run before everything else."""

from django.http import JsonResponse

from energy_site.api import error_body


class RejectMalformedContentLength:
    """Answer a non-numeric Content-Length with a 400 in the API's envelope.

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
        return self.get_response(request)
