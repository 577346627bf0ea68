"""Serializers of the forecasts app: thin, validation only."""

from __future__ import annotations

import zoneinfo

import holidays
from django.utils.dateparse import parse_datetime
from rest_framework import serializers

from forecasts.models import City, Forecast, ForecastRun, Job
from forecasts.timestamps import timestamp_range_message, timestamp_supported

MAX_HORIZON_HOURS = 168
HOST_ZONES = {"localtime", "Factory", "posixrules"}
MAX_BATCH_ITEMS = 100


class JobSerializer(serializers.ModelSerializer):
    class Meta:
        model = Job
        fields = [
            "id",
            "kind",
            "state",
            "progress",
            "result",
            "error",
            "attempts",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields


class CitySerializer(serializers.ModelSerializer):
    active_model = serializers.SerializerMethodField()
    data_coverage = serializers.SerializerMethodField()

    class Meta:
        model = City
        fields = [
            "id",
            "name",
            "country",
            "timezone",
            "latitude",
            "longitude",
            "resolution_minutes",
            "is_active",
            "created_at",
            "active_model",
            "data_coverage",
        ]
        read_only_fields = ["id", "is_active", "created_at", "active_model", "data_coverage"]

    def get_active_model(self, city: City) -> dict | None:
        active = getattr(city, "active_models", None)
        model = active[0] if active else None
        if model is None:
            return None
        return {
            "id": model.pk,
            "version": model.version,
            "algorithm": model.algorithm,
            "mape": (model.metrics.get("model") or {}).get("mape"),
        }

    def get_data_coverage(self, city: City) -> dict:
        return {
            "observations": city.observation_count,
            "first": city.first_observation,
            "last": city.last_observation,
        }

    def validate_country(self, value: str) -> str:
        value = value.upper()
        if value not in holidays.list_supported_countries():
            raise serializers.ValidationError(f"Unknown or unsupported country code '{value}'.")
        return value

    def validate_timezone(self, value: str) -> str:
        # The system tz database also holds host-dependent or placeholder entries.
        if value not in zoneinfo.available_timezones() or value in HOST_ZONES:
            raise serializers.ValidationError(f"Unknown IANA time zone '{value}'.")
        return value

    def validate_name(self, value: str) -> str:
        if not value.strip() or not value.isprintable():
            raise serializers.ValidationError("Names must be printable text.")
        return value.strip()


class AwareDateTimeField(serializers.DateTimeField):
    """An ISO 8601 timestamp that must carry its UTC offset (no guessing a zone)."""

    def to_internal_value(self, value):
        try:
            parsed = parse_datetime(value) if isinstance(value, str) else None
        except ValueError:  # well-formed but impossible, e.g. minute 99 or 30 February
            raise serializers.ValidationError(f"Not a real date and time: {value!r}.") from None
        if parsed is not None and parsed.tzinfo is None:
            raise serializers.ValidationError(
                "Timestamps need a UTC offset, e.g. 2014-12-01T00:00:00+11:00."
            )
        result = super().to_internal_value(value)
        if not timestamp_supported(result):
            raise serializers.ValidationError(timestamp_range_message("Timestamps"))
        return result


class ForecastRequestSerializer(serializers.Serializer):
    city = serializers.IntegerField(min_value=1)
    start = AwareDateTimeField()
    horizon_hours = serializers.IntegerField(min_value=1, max_value=MAX_HORIZON_HOURS)
    quantiles = serializers.ListField(
        child=serializers.FloatField(), required=False, allow_empty=False, max_length=7
    )

    def validate_quantiles(self, value: list[float]) -> list[float]:
        from training.inference import SUPPORTED_QUANTILES

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
            "job",
            "points",
        ]

    def get_fallback(self, run: ForecastRun) -> bool:
        return run.quality == ForecastRun.Quality.FALLBACK
