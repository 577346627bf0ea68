"""What the OpenAPI schema says of weather uploads beyond the views' own annotations."""

from __future__ import annotations


def upload_body_required(result, generator, request, public):
    """Postprocessing hook: a weather forecast upload without a body is refused (400),
    so the schema says the body is required."""
    from httpapi.openapi import require_request_body

    return require_request_body(result, "/api/v1/cities/{city_id}/weather-forecasts/", "post")
