"""HTTP views of the forecasts app: forecast requests, the latest points, forecast runs."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.hot_reads import CachedReadMixin
from cities.selectors import cities_for_user, city_get_for_user
from cities.timestamps import DATE_TIME_SCHEMA, time_window_parse
from forecasts.selectors import (
    forecast_points_latest,
    forecast_run_cache_key,
    forecast_run_rendered_for_user,
)
from forecasts.serializers import (
    ForecastBatchSerializer,
    ForecastRequestSerializer,
    ForecastRunSerializer,
    LatestForecastPointSerializer,
)
from forecasts.services import forecast_request_accept, forecast_requests_accept_batch
from httpapi.openapi import PAGE_PARAMETERS, paginated
from httpapi.pagination import paginated_response
from httpapi.params import query_params_not_empty
from httpapi.parsers import SafeJSONParser
from httpapi.rendered import rendered_response
from jobs.responses import JOB_ACCEPTED_SCHEMA, idempotency_key_from, job_accepted_response
from jobs.serializers import JobSerializer


class ForecastsApi(APIView):
    @extend_schema(request=ForecastRequestSerializer, responses={202: JOB_ACCEPTED_SCHEMA})
    def post(self, request):
        serializer = ForecastRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        job = forecast_request_accept(
            user=request.user,
            data=serializer.validated_data,
            idempotency_key=idempotency_key_from(request),
        )
        return job_accepted_response(job)

    @extend_schema(
        parameters=[
            *PAGE_PARAMETERS,
            OpenApiParameter("city", int),
            OpenApiParameter("start", DATE_TIME_SCHEMA),
            OpenApiParameter("end", DATE_TIME_SCHEMA),
        ],
        responses=paginated(LatestForecastPointSerializer, "PaginatedLatestForecastList"),
    )
    def get(self, request):
        """The latest issued point per city and timestamp."""
        query_params_not_empty(request.query_params, "city")
        city = request.query_params.get("city")
        cities = cities_for_user(request.user)
        if city:
            cities = cities.filter(pk=city_get_for_user(request.user, city).pk)
        start, end = time_window_parse(request.query_params, tz_name=None)
        points = forecast_points_latest(cities=cities, start=start, end=end)
        return paginated_response(request, self, points, LatestForecastPointSerializer)


class ForecastBatchApi(APIView):
    # A list of objects has no form encoding: JSON only (anything else is a 415).
    parser_classes = [SafeJSONParser]

    @extend_schema(
        request=ForecastBatchSerializer,
        responses={202: inline_serializer("JobsAccepted", {"jobs": JobSerializer(many=True)})},
    )
    def post(self, request):
        payload = request.data if isinstance(request.data, dict) else {"items": request.data}
        serializer = ForecastBatchSerializer(data=payload)
        serializer.is_valid(raise_exception=True)
        jobs = forecast_requests_accept_batch(
            user=request.user, items=serializer.validated_data["items"]
        )
        return Response(
            {"jobs": JobSerializer(jobs, many=True).data}, status=status.HTTP_202_ACCEPTED
        )


class ForecastRunApi(CachedReadMixin, APIView):
    def cached_rendering_key(self, pk, **kwargs) -> str:
        return forecast_run_cache_key(pk)

    @extend_schema(responses=ForecastRunSerializer)
    def get(self, request, pk: int):
        rendered = forecast_run_rendered_for_user(
            request.user, pk, render=lambda run: ForecastRunSerializer(run).data
        )
        return rendered_response(request, rendered)
