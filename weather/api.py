"""HTTP views of the weather app: a city's weather forecast vintages (list), and an
uploaded forecast file stored as a vintage (the "upload" provider)."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.parsers import BaseParser
from rest_framework.response import Response
from rest_framework.views import APIView

import errors
from accounts.selectors import require_org_admin
from cities.selectors import city_get_for_user
from cities.timestamps import DATE_TIME_SCHEMA
from httpapi.openapi import PAGE_PARAMETERS, paginated
from httpapi.pagination import paginated_response
from weather.selectors import weather_vintages_for_user
from weather.serializers import WeatherUploadQuerySerializer, WeatherVintageSerializer
from weather.services import weather_forecast_upload

MAX_UPLOAD_BYTES = 1024 * 1024


class CsvBodyParser(BaseParser):
    """The view reads ``request.body`` itself (a CSV file)."""

    media_type = "*/*"

    def parse(self, stream, media_type=None, parser_context=None):
        return {}


class CityWeatherForecastsApi(APIView):
    parser_classes = [CsvBodyParser]

    @extend_schema(
        operation_id="v1_city_weather_forecasts_list",
        parameters=PAGE_PARAMETERS,
        responses=paginated(WeatherVintageSerializer, "PaginatedWeatherVintageList"),
    )
    def get(self, request, city_id: int):
        city = city_get_for_user(request.user, city_id)
        vintages = weather_vintages_for_user(request.user, city.pk)
        return paginated_response(request, self, vintages, WeatherVintageSerializer)

    @extend_schema(
        operation_id="v1_city_weather_forecasts_upload",
        parameters=[
            OpenApiParameter("issued_at", DATE_TIME_SCHEMA, required=True),
        ],
        request={"text/csv": OpenApiTypes.BINARY},
        responses={201: WeatherVintageSerializer},
    )
    def post(self, request, city_id: int):
        city = city_get_for_user(request.user, city_id)
        require_org_admin(request.user, "upload weather forecasts")
        query = WeatherUploadQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        if int(request.META.get("CONTENT_LENGTH") or 0) > min(
            MAX_UPLOAD_BYTES, settings.UPLOAD_MAX_BYTES
        ):
            raise errors.TooLarge("A weather forecast file may be at most 1 MiB.")
        vintage = weather_forecast_upload(
            city=city, data=request.body, issued_at=query.validated_data["issued_at"]
        )
        return Response(WeatherVintageSerializer(vintage).data, status=status.HTTP_201_CREATED)
