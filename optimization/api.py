"""Fleet (sources, storage) and dispatch endpoints: thin, organisation-scoped."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from errors import NotFound, PermissionDenied
from forecasts.responses import (
    JOB_ACCEPTED_SCHEMA,
    idempotency_key_from,
    job_accepted_response,
)
from forecasts.selectors import city_get_for_user, forecast_runs_for_user, user_is_org_admin
from httpapi.openapi import paginated
from httpapi.pagination import Pagination
from optimization import fleet, selectors, services
from optimization.serializers import (
    DispatchRequestSerializer,
    DispatchRunSerializer,
    GenerationSourceSerializer,
    StorageUnitSerializer,
)


def _require_org_admin(user) -> None:
    if not user_is_org_admin(user):
        raise PermissionDenied("Only organisation admins can change the fleet.")


class _FleetListView(APIView):
    """GET lists the city's items, POST (admins) adds one."""

    serializer_class = None
    list_items = staticmethod(lambda city: None)
    create_item = staticmethod(lambda *, city, data: None)

    def get(self, request, city_id):
        city = city_get_for_user(request.user, city_id)
        paginator = Pagination()
        page = paginator.paginate_queryset(self.list_items(city), request, view=self)
        return paginator.get_paginated_response(self.serializer_class(page, many=True).data)

    def post(self, request, city_id):
        city = city_get_for_user(request.user, city_id)
        _require_org_admin(request.user)
        serializer = self.serializer_class(data=request.data)
        serializer.is_valid(raise_exception=True)
        item = self.create_item(city=city, data=serializer.validated_data)
        return Response(self.serializer_class(item).data, status=status.HTTP_201_CREATED)


class _FleetDetailView(APIView):
    """GET one item; PATCH and DELETE for admins."""

    serializer_class = None
    get_item = staticmethod(lambda city, item_id: None)
    update_item = staticmethod(lambda item, data: None)

    def get(self, request, city_id, item_id):
        city = city_get_for_user(request.user, city_id)
        return Response(self.serializer_class(self.get_item(city, item_id)).data)

    def patch(self, request, city_id, item_id):
        city = city_get_for_user(request.user, city_id)
        item = self.get_item(city, item_id)
        _require_org_admin(request.user)
        serializer = self.serializer_class(item, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        item = self.update_item(item, serializer.validated_data)
        return Response(self.serializer_class(item).data)

    def delete(self, request, city_id, item_id):
        city = city_get_for_user(request.user, city_id)
        item = self.get_item(city, item_id)
        _require_org_admin(request.user)
        item.delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(
    get=extend_schema(
        operation_id="cities_sources_list",
        responses=paginated(GenerationSourceSerializer, "PaginatedSourceList"),
    ),
    post=extend_schema(responses={201: GenerationSourceSerializer}),
)
class SourceListView(_FleetListView):
    serializer_class = GenerationSourceSerializer
    list_items = staticmethod(selectors.sources_for_city)
    create_item = staticmethod(fleet.source_create)


class SourceDetailView(_FleetDetailView):
    serializer_class = GenerationSourceSerializer
    get_item = staticmethod(selectors.source_get_for_city)
    update_item = staticmethod(fleet.source_update)


@extend_schema_view(
    get=extend_schema(
        operation_id="cities_storage_list",
        responses=paginated(StorageUnitSerializer, "PaginatedStorageList"),
    ),
    post=extend_schema(responses={201: StorageUnitSerializer}),
)
class StorageListView(_FleetListView):
    serializer_class = StorageUnitSerializer
    list_items = staticmethod(selectors.storage_for_city)
    create_item = staticmethod(fleet.storage_create)


class StorageDetailView(_FleetDetailView):
    serializer_class = StorageUnitSerializer
    get_item = staticmethod(selectors.storage_get_for_city)
    update_item = staticmethod(fleet.storage_update)


class DispatchCreateView(APIView):
    @extend_schema(
        request=DispatchRequestSerializer,
        responses={202: JOB_ACCEPTED_SCHEMA},
    )
    def post(self, request):
        serializer = DispatchRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        forecast_run = (
            forecast_runs_for_user(request.user)
            .select_related("city__organization")
            .filter(pk=data["forecast_run"])
            .first()
        )
        if forecast_run is None:
            raise NotFound("No such forecast run.")
        _, job = services.dispatch_run_create(
            forecast_run=forecast_run,
            user=request.user,
            mode=data.get("mode"),
            policy=data.get("policy"),
            idempotency_key=idempotency_key_from(request),
        )
        return job_accepted_response(job)


class DispatchDetailView(APIView):
    @extend_schema(responses=DispatchRunSerializer)
    def get(self, request, dispatch_id):
        run = selectors.dispatch_run_get_for_user(request.user, dispatch_id)
        context = {"intervals": selectors.dispatch_run_intervals(run)}
        return Response(DispatchRunSerializer(run, context=context).data)
