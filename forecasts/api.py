"""HTTP views of the forecasts app: cities, forecasts, forecast runs and jobs."""

from __future__ import annotations

import uuid

from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import F, Prefetch, Window
from django.db.models.functions import RowNumber
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, status, viewsets
from rest_framework.response import Response
from rest_framework.views import APIView

import errors
from forecasts.models import City, Forecast, Job
from forecasts.responses import (
    JOB_ACCEPTED_SCHEMA,
    idempotency_key_from,
    job_accepted_response,
)
from forecasts.selectors import (
    cities_for_user,
    city_get_for_user,
    forecast_runs_for_user,
    jobs_for_user,
    require_organization_id,
    user_is_org_admin,
)
from forecasts.serializers import (
    CitySerializer,
    ForecastBatchSerializer,
    ForecastRequestSerializer,
    ForecastRunSerializer,
    JobSerializer,
    LatestForecastPointSerializer,
)
from forecasts.services.forecasting import (
    ForecastSpec,
    forecast_backlog_check,
    forecast_request_create,
    forecast_run_cache_key,
    forecast_run_cache_set,
    forecast_spec_validate,
)
from forecasts.services.jobs import job_cancel
from forecasts.timestamps import time_window_parse
from httpapi.openapi import paginated
from httpapi.pagination import Pagination


class CityViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = CitySerializer

    def get_queryset(self):
        from training.models import ModelVersion

        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return City.objects.none()
        return (
            cities_for_user(self.request.user)
            .prefetch_related(
                Prefetch(
                    "model_versions",
                    queryset=ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE),
                    to_attr="active_models",
                )
            )
            .order_by("name", "pk")  # names are unique per organisation; pk keeps pages stable
        )

    def perform_create(self, serializer):
        if not user_is_org_admin(self.request.user):
            raise errors.PermissionDenied("Only organisation admins can add cities.")
        try:
            with transaction.atomic():
                serializer.save(organization_id=require_organization_id(self.request.user))
        except IntegrityError:
            raise errors.Conflict("Your organisation already has a city of that name.") from None


class ForecastCreateView(APIView):
    @extend_schema(request=ForecastRequestSerializer, responses={202: JOB_ACCEPTED_SCHEMA})
    def post(self, request):
        serializer = ForecastRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        org_id = require_organization_id(request.user)
        spec = _spec_from(request.user, serializer.validated_data)
        forecast_backlog_check(org_id)
        with transaction.atomic():
            job, _ = forecast_request_create(
                organization_id=org_id,
                user=request.user,
                spec=spec,
                idempotency_key=idempotency_key_from(request),
            )
        return job_accepted_response(job)

    @extend_schema(
        parameters=[
            OpenApiParameter("city", int),
            OpenApiParameter("start", OpenApiTypes.DATETIME),
            OpenApiParameter("end", OpenApiTypes.DATETIME),
        ],
        responses=paginated(LatestForecastPointSerializer, "PaginatedLatestForecastList"),
    )
    def get(self, request):
        """The latest issued point per city and timestamp."""
        city_param = request.query_params.get("city")
        points = Forecast.objects.filter(city__in=cities_for_user(request.user))
        if city_param:
            points = points.filter(city=city_get_for_user(request.user, city_param))
        start, end = time_window_parse(request.query_params, tz_name=None)
        if start:
            points = points.filter(timestamp__gte=start)
        if end:
            points = points.filter(timestamp__lt=end)
        latest = points.annotate(
            rank=Window(
                RowNumber(),
                partition_by=[F("city_id"), F("timestamp")],
                order_by=[F("run__issued_at").desc(), F("run_id").desc()],
            )
        ).filter(rank=1)
        latest = latest.order_by("city_id", "timestamp")
        paginator = self.paginator
        page = paginator.paginate_queryset(latest, request, view=self)
        return paginator.get_paginated_response(LatestForecastPointSerializer(page, many=True).data)

    @property
    def paginator(self):
        if not hasattr(self, "_paginator"):
            self._paginator = Pagination()
        return self._paginator


def _spec_from(user, data: dict) -> ForecastSpec:
    city = city_get_for_user(user, data["city"])
    if not city.is_active:
        raise errors.Unprocessable(f"{city.name} is not active.", code="city_inactive")
    return forecast_spec_validate(
        ForecastSpec(
            city=city,
            start=data["start"],
            horizon_hours=data["horizon_hours"],
            quantiles=tuple(data.get("quantiles") or (0.05, 0.5, 0.95)),
        )
    )


class ForecastBatchView(APIView):
    @extend_schema(
        request=ForecastBatchSerializer,
        responses={202: inline_serializer("JobsAccepted", {"jobs": JobSerializer(many=True)})},
    )
    def post(self, request):
        payload = request.data if isinstance(request.data, dict) else {"items": request.data}
        serializer = ForecastBatchSerializer(data=payload)
        serializer.is_valid(raise_exception=True)
        org_id = require_organization_id(request.user)
        specs = []
        for index, item in enumerate(serializer.validated_data["items"]):
            try:
                specs.append(_spec_from(request.user, item))
            except errors.DomainError as exc:
                # The same class keeps the status; the code and message name the item.
                raise type(exc)(
                    f"items[{index}]: {exc.message}", code="invalid_item", details={"index": index}
                ) from None
        forecast_backlog_check(org_id, extra=len(specs))
        with transaction.atomic():
            jobs = [
                forecast_request_create(organization_id=org_id, user=request.user, spec=spec)[0]
                for spec in specs
            ]
        return Response(
            {"jobs": JobSerializer(jobs, many=True).data}, status=status.HTTP_202_ACCEPTED
        )


class ForecastRunDetailView(APIView):
    @extend_schema(responses=ForecastRunSerializer)
    def get(self, request, pk: int):
        org_id = _cached_org_id(request.user)
        cached = cache.get(forecast_run_cache_key(pk))
        if cached is not None and cached["organization_id"] == org_id:
            return Response(cached["data"])
        run = (
            forecast_runs_for_user(request.user)
            .select_related("city")
            .prefetch_related("points")
            .filter(pk=pk)
            .first()
        )
        if run is None:
            raise errors.NotFound("No such forecast run.")
        data = ForecastRunSerializer(run).data
        forecast_run_cache_set(run, data)
        return Response(data)


def _cached_org_id(user) -> int:
    """The caller's organisation, cached briefly so a cache hit needs no query."""
    if getattr(user, "organization_id", None):
        return user.organization_id
    key = f"user-org:v1:{user.pk}"
    org_id = cache.get(key)
    if org_id is None:
        org_id = require_organization_id(user)
        cache.set(key, org_id, timeout=60)
    return org_id


class JobViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = JobSerializer
    filterset_fields = ["kind", "state"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Job.objects.none()
        return jobs_for_user(self.request.user)

    def get_object(self):
        try:
            job_id = uuid.UUID(str(self.kwargs["pk"]))
            return self.get_queryset().get(pk=job_id)
        except (Job.DoesNotExist, ValueError):
            raise errors.NotFound("No such job.") from None

    def destroy(self, request, pk=None):
        job = self.get_object()
        if not job_cancel(job):
            raise errors.Conflict(f"The job is already {job.state}; nothing to cancel.")
        return Response({"job": JobSerializer(job).data}, status=status.HTTP_202_ACCEPTED)
