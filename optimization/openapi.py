"""What the OpenAPI schema says of the fleet beyond the serializers' own fields."""

from __future__ import annotations


def fleet_constraints(result, generator, request, public):
    """Postprocessing hook (settings.SPECTACULAR_SETTINGS): ``turbine_type`` takes only
    the names of windpowerlib's shipped turbine library (or "" for the default), which
    the model validates; listing them here lets clients and fuzzers know. Computed when
    the schema is built, so importing the serializers does not read the library."""
    from optimization.availability_weather import turbine_types

    names = ["", *turbine_types()]
    schemas = result.get("components", {}).get("schemas", {})
    for name in ("GenerationSource", "GenerationSourceRequest", "PatchedGenerationSourceRequest"):
        field = schemas.get(name, {}).get("properties", {}).get("turbine_type")
        if field is not None:
            field["enum"] = names
    for name in ("Policy", "PolicyRequest"):
        if name in schemas:
            schemas[name]["additionalProperties"] = False  # unknown keys are a 400
    return result
