"""What the OpenAPI schema says of forecast requests beyond the serializers' fields."""

from __future__ import annotations


def batch_constraints(result, generator, request, public):
    """Postprocessing hook (settings.SPECTACULAR_SETTINGS): a batch holds 1 to
    MAX_BATCH_ITEMS requests (ForecastBatchSerializer refuses an empty or longer list;
    drf-spectacular does not carry a nested list's bounds into the schema)."""
    from forecasts.serializers import MAX_BATCH_ITEMS

    schemas = result.get("components", {}).get("schemas", {})
    items = schemas.get("ForecastBatchRequest", {}).get("properties", {}).get("items")
    if items is not None:
        items.update(minItems=1, maxItems=MAX_BATCH_ITEMS)
    return result
