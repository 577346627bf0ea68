"""Serializers of the forecasts app: thin, validation only."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from cities.models import City
from cities.serializers import AwareDateTimeField
from cities.timestamps import DATE_TIME_SCHEMA, SUPPORTED_YEARS
from forecasts.models import Forecast, ForecastRun
from httpapi.fields import date_time_pattern
from training.inference import MAX_HORIZON_HOURS
from training.quantiles import SUPPORTED_QUANTILES

MAX_BATCH_ITEMS = 100


MEDIAN = 0.5
_QUANTILE_VALUES = [float(q) for q in SUPPORTED_QUANTILES]


class QuantileField(serializers.FloatField):
    """A quantile the models can produce (the list's schema names them)."""


# The list's rule in OpenAPI 3.0, which has no ``contains``: "some item is below 0.5"
# is "not every item is 0.5 or above", and likewise above. A validator reading the
# schema accepts exactly the lists validate_quantiles accepts.
QUANTILES_SCHEMA = {
    "type": "array",
    "items": {"type": "number", "format": "double", "enum": _QUANTILE_VALUES},
    "minItems": 1,
    "maxItems": len(SUPPORTED_QUANTILES),
    "allOf": [
        {"not": {"items": {"enum": [q for q in _QUANTILE_VALUES if q >= MEDIAN]}}},
        {"not": {"items": {"enum": [q for q in _QUANTILE_VALUES if q <= MEDIAN]}}},
    ],
    "description": (
        "Quantiles to forecast, at least one below 0.5 and one above it; 0.5 is always "
        "added. Default [0.05, 0.5, 0.95]."
    ),
}


@extend_schema_field(QUANTILES_SCHEMA)
class QuantileListField(serializers.ListField):
    """The quantiles of one forecast request: the schema states the whole rule."""

    def __init__(self, **kwargs):
        kwargs.setdefault("child", QuantileField())
        kwargs.setdefault("allow_empty", False)
        kwargs.setdefault("max_length", len(SUPPORTED_QUANTILES))
        super().__init__(**kwargs)


# A forecast starts on its city's interval grid in UTC (forecasts.services
# forecast_spec_validate). The schema states the grid every city shares, the finest
# resolution; an hourly city also needs a whole hour, which depends on the city.
GRID_MINUTES = min(City.Resolution.values)


@extend_schema_field(
    {
        **DATE_TIME_SCHEMA,
        "pattern": date_time_pattern(*SUPPORTED_YEARS, step_minutes=GRID_MINUTES),
        "description": (
            f"{DATE_TIME_SCHEMA['description']} On the city's interval grid in UTC: a "
            f"multiple of {GRID_MINUTES} minutes (a whole hour for an hourly city)."
        ),
    }
)
class ForecastStartField(AwareDateTimeField):
    """A forecast's start; the grid itself is checked against the city's resolution."""


class ForecastRequestSerializer(serializers.Serializer):
    city = serializers.IntegerField(min_value=1)
    start = ForecastStartField()
    horizon_hours = serializers.IntegerField(min_value=1, max_value=MAX_HORIZON_HOURS)
    quantiles = QuantileListField(required=False)

    def validate_quantiles(self, value: list[float]) -> list[float]:
        unknown = sorted(set(value) - set(SUPPORTED_QUANTILES))
        if unknown:
            raise serializers.ValidationError(
                f"Unsupported quantiles {unknown}; choose from {list(SUPPORTED_QUANTILES)}."
            )
        if not (min(value) < MEDIAN < max(value)):
            # The bounds are the lowest and highest quantile: without one on each side
            # of the median the "interval" would have zero width.
            raise serializers.ValidationError(
                "Ask for at least one quantile below 0.5 and one above it, e.g. [0.05, 0.95]."
            )
        return sorted(set(value) | {MEDIAN})


class ForecastBatchSerializer(serializers.Serializer):
    items = ForecastRequestSerializer(many=True, allow_empty=False, max_length=MAX_BATCH_ITEMS)


class ForecastPointSerializer(serializers.ModelSerializer):
    class Meta:
        model = Forecast
        fields = ["timestamp", "demand", "confidence_lower", "confidence_upper", "quantiles"]


class LatestForecastPointSerializer(serializers.ModelSerializer):
    forecast_run = serializers.IntegerField(source="run_id")

    class Meta:
        model = Forecast
        fields = [
            "city",
            "timestamp",
            "demand",
            "confidence_lower",
            "confidence_upper",
            "forecast_run",
        ]


class ForecastRunSerializer(serializers.ModelSerializer):
    points = ForecastPointSerializer(many=True, read_only=True)
    fallback = serializers.SerializerMethodField()

    class Meta:
        model = ForecastRun
        fields = [
            "id",
            "city",
            "model_version",
            "method",
            "quality",
            "quality_reason",
            "fallback",
            "issued_at",
            "start",
            "horizon_hours",
            "quantiles",
            "weather",
            "weather_vintage",
            "weather_note",
            "calibration_shift",
            "job",
            "points",
        ]

    def get_fallback(self, run: ForecastRun) -> bool:
        return run.quality == ForecastRun.Quality.FALLBACK
