"""Serializers of the cities app: thin, validation only."""

from __future__ import annotations

import zoneinfo

import holidays
from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from cities.models import City, Observation
from cities.timestamps import (
    DATE_TIME_SCHEMA,
    timestamp_range_message,
    timestamp_supported_everywhere,
)
from httpapi.fields import PrintableTextField

HOST_ZONES = {"localtime", "Factory", "posixrules"}


class CitySerializer(serializers.ModelSerializer):
    name = PrintableTextField(max_length=City._meta.get_field("name").max_length)
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
        """The active model's id, version, algorithm and backtest MAPE (None: no model)."""
        return city.active_model

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


@extend_schema_field(DATE_TIME_SCHEMA)
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
        if parsed is not None and not timestamp_supported_everywhere(parsed):
            raise serializers.ValidationError(timestamp_range_message("Timestamps"))
        result = super().to_internal_value(value)
        if not timestamp_supported_everywhere(result):
            raise serializers.ValidationError(timestamp_range_message("Timestamps"))
        return result


class ObservationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Observation
        fields = ["timestamp", "demand_mw", *Observation.WEATHER_FIELDS]
