"""What the OpenAPI schema says of cities beyond the serializers' own fields."""

from __future__ import annotations


def city_constraints(result, generator, request, public):
    """Postprocessing hook (settings.SPECTACULAR_SETTINGS): a city's ``country`` is one
    the ``holidays`` package supports and its ``timezone`` an IANA zone of the host's
    database (cities/serializers.py validates both); listing them lets clients and
    fuzzers know. Lower-case country codes are accepted too (they are upper-cased)."""
    import zoneinfo

    import holidays

    from cities.serializers import HOST_ZONES

    countries = sorted(holidays.list_supported_countries())
    zones = sorted(zoneinfo.available_timezones() - HOST_ZONES)
    for name in ("City", "CityRequest"):
        properties = result.get("components", {}).get("schemas", {}).get(name, {})
        properties = properties.get("properties", {})
        if "country" in properties:
            properties["country"]["enum"] = countries
        if "timezone" in properties:
            properties["timezone"]["enum"] = zones
    return result


def upload_body_required(result, generator, request, public):
    """Postprocessing hook: an observation upload without a body is refused (415 or
    400), so the schema says the body is required."""
    from httpapi.openapi import require_request_body

    return require_request_body(result, "/api/v1/cities/{city_id}/observations/", "post")
