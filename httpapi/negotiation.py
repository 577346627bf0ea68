"""Content negotiation with a shortcut for what nearly every API client sends.

DRF parses the Accept header against every renderer at each request; for ``*/*``, no
Accept at all, or plain ``application/json`` its answer is always the first renderer
(JSON), and working that out was the largest piece of DRF's own cost on the reads
clients repeat (docs/benchmarks.md, "Serving at load"). Anything else (the browsable
API's text/html, ``?format=``, an ``indent`` parameter) is negotiated by DRF as before.
"""

from rest_framework.negotiation import DefaultContentNegotiation

_PLAIN = {"", "*/*", "application/json"}


class JsonFirstContentNegotiation(DefaultContentNegotiation):
    def select_renderer(self, request, renderers, format_suffix=None):
        if (
            format_suffix is None
            and renderers
            and renderers[0].media_type == "application/json"
            and request.META.get("HTTP_ACCEPT", "").strip() in _PLAIN
            and self.settings.URL_FORMAT_OVERRIDE not in request.GET
        ):
            return renderers[0], renderers[0].media_type
        return super().select_renderer(request, renderers, format_suffix)
