"""Serializers of the forecasts app: thin, validation only."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from cities.serializers import AwareDateTimeField
from forecasts.models import Forecast, ForecastRun
from training.inference import MAX_HORIZON_HOURS
from training.quantiles import SUPPORTED_QUANTILES

MAX_BATCH_ITEMS = 100


@extend_schema_field(
    {"type": "number", "format": "double", "enum": [float(q) for q in SUPPORTED_QUANTILES]}
)
class QuantileField(serializers.FloatField):
    """A quantile the models can produce; the schema lists them."""


class ForecastRequestSerializer(serializers.Serializer):
    city = serializers.IntegerField(min_value=1)
    start = AwareDateTimeField()
    horizon_hours = serializers.IntegerField(min_value=1, max_value=MAX_HORIZON_HOURS)
    quantiles = serializers.ListField(
        child=QuantileField(), required=False, allow_empty=False, max_length=7
    )

    def validate_quantiles(self, value: list[float]) -> list[float]:
        unknown = sorted(set(value) - set(SUPPORTED_QUANTILES))
        if unknown:
            raise serializers.ValidationError(
                f"Unsupported quantiles {unknown}; choose from {list(SUPPORTED_QUANTILES)}."
            )
        if not (min(value) < 0.5 < max(value)):
            # The bounds are the lowest and highest quantile: without one on each side
            # of the median the "interval" would have zero width.
            raise serializers.ValidationError(
                "Ask for at least one quantile below 0.5 and one above it, e.g. [0.05, 0.95]."
            )
        return sorted(set(value) | {0.5})


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
