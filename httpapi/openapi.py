"""OpenAPI helpers: paginated lists and the error envelope of docs/api.md."""

from drf_spectacular.utils import OpenApiParameter, inline_serializer
from rest_framework import serializers

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "details"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "details": {"type": "object", "additionalProperties": True},
            },
        }
    },
}


# The query parameters of every paginated list (httpapi/pagination.py).
PAGE_PARAMETERS = [
    OpenApiParameter(
        "page",
        {"type": "integer", "minimum": 1},
        required=False,
        description="A page number within the paginated result set.",
    ),
    OpenApiParameter(
        "page_size",
        {"type": "integer", "minimum": 1},
        required=False,
        description="Number of results to return per page (at most 5000; more is cut to 5000).",
    ),
]


def paginated(serializer_class, name: str):
    """The schema of a paginated list of ``serializer_class`` (count, next, previous)."""
    return inline_serializer(
        name,
        {
            "count": serializers.IntegerField(),
            "next": serializers.URLField(allow_null=True),
            "previous": serializers.URLField(allow_null=True),
            "results": serializer_class(many=True),
        },
    )


def add_error_responses(result, generator, request, public):
    """Postprocessing hook: every operation may answer 4XX or 503 with the envelope."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    reference = {"$ref": "#/components/schemas/Error"}
    for path in result.get("paths", {}).values():
        for operation in path.values():
            responses = operation.setdefault("responses", {})
            for status, text in (("4XX", "Client error"), ("503", "A dependency is down")):
                responses.setdefault(
                    status,
                    {"description": text, "content": {"application/json": {"schema": reference}}},
                )
    return result


def require_request_body(result, path: str, method: str):
    """Mark one operation's request body as required (drf-spectacular leaves bodies
    given as a plain dict of media types optional): the view reads the body and answers
    a request without one with a 4xx."""
    operation = result.get("paths", {}).get(path, {}).get(method, {})
    if "requestBody" in operation:
        operation["requestBody"]["required"] = True
    return result
