"""Serializers of the weather app: thin, validation only."""

from rest_framework import serializers

from cities.serializers import AwareDateTimeField
from weather.models import WeatherVintage


class WeatherVintageSerializer(serializers.ModelSerializer):
    class Meta:
        model = WeatherVintage
        fields = [
            "id",
            "city",
            "provider",
            "issued_at",
            "fetched_at",
            "valid_from",
            "valid_until",
            "hours",
            "missing_hours",
        ]


class WeatherUploadQuerySerializer(serializers.Serializer):
    issued_at = AwareDateTimeField()
