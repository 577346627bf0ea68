"""Request parsers: DRF's, hardened against hostile bodies."""

from rest_framework import exceptions
from rest_framework.parsers import JSONParser


class SafeJSONParser(JSONParser):
    """DRF's JSON parser, but hostile bodies are a 400 rather than a crash.

    The stock parser turns only ValueError into a ParseError; a body nested a thousand
    levels deep raises RecursionError inside json.loads.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError("JSON parse error - nested too deeply.") from None
