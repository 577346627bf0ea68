"""Fleet (sources, storage) and dispatch endpoints: thin, organisation-scoped.

Every view first finds the city or run in the caller's organisation (a stranger's is
a 404), then checks the role for writes (a member's write is a 403).
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.selectors import require_org_admin
from cities.selectors import city_get_for_user
from forecasts.selectors import forecast_run_get_for_user
from httpapi.openapi import PAGE_PARAMETERS, paginated
from httpapi.pagination import paginated_response
from httpapi.parsers import SafeJSONParser
from jobs.responses import JOB_ACCEPTED_SCHEMA, idempotency_key_from, job_accepted_response
from optimization import fleet, selectors, services
from optimization.serializers import (
    DispatchRequestSerializer,
    DispatchRunSerializer,
    GenerationSourceSerializer,
    StorageUnitSerializer,
)

FLEET_WRITE = "change the fleet"


class _FleetItemsApi(APIView):
    """GET lists the city's items, POST (admins) adds one."""

    # JSON only (anything else is a 415): form fields arrive as text, which DRF would
    # coerce into the numbers and booleans the schema types strictly.
    parser_classes = [SafeJSONParser]

    # Subclasses name the serializer and implement ``items`` and ``create``.

    serializer_class: type

    def items(self, city):
        raise NotImplementedError

    def create(self, city, data: dict):
        raise NotImplementedError

    def get(self, request, city_id):
        city = city_get_for_user(request.user, city_id)
        return paginated_response(request, self, self.items(city), self.serializer_class)

    def post(self, request, city_id):
        city = city_get_for_user(request.user, city_id)
        require_org_admin(request.user, FLEET_WRITE)
        serializer = self.serializer_class(data=request.data)
        serializer.is_valid(raise_exception=True)
        item = self.create(city, serializer.validated_data)
        return Response(self.serializer_class(item).data, status=status.HTTP_201_CREATED)


class _FleetItemApi(APIView):
    """GET one item; PATCH and DELETE for admins."""

    parser_classes = [SafeJSONParser]  # JSON only, as _FleetItemsApi

    # Subclasses name the serializer and implement ``item`` and ``update``.

    serializer_class: type

    def item(self, city, item_id):
        raise NotImplementedError

    def update(self, item, data: dict):
        raise NotImplementedError

    def get(self, request, city_id, item_id):
        city = city_get_for_user(request.user, city_id)
        return Response(self.serializer_class(self.item(city, item_id)).data)

    def patch(self, request, city_id, item_id):
        item = self.item(city_get_for_user(request.user, city_id), item_id)
        require_org_admin(request.user, FLEET_WRITE)
        serializer = self.serializer_class(item, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        item = self.update(item, serializer.validated_data)
        return Response(self.serializer_class(item).data)

    def delete(self, request, city_id, item_id):
        item = self.item(city_get_for_user(request.user, city_id), item_id)
        require_org_admin(request.user, FLEET_WRITE)
        fleet.fleet_item_delete(item)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(
    get=extend_schema(
        operation_id="cities_sources_list",
        parameters=PAGE_PARAMETERS,
        responses=paginated(GenerationSourceSerializer, "PaginatedSourceList"),
    ),
    post=extend_schema(responses={201: GenerationSourceSerializer}),
)
class SourcesApi(_FleetItemsApi):
    serializer_class = GenerationSourceSerializer

    def items(self, city):
        return selectors.sources_for_city(city)

    def create(self, city, data):
        return fleet.source_create(city=city, data=data)


class SourceApi(_FleetItemApi):
    serializer_class = GenerationSourceSerializer

    def item(self, city, item_id):
        return selectors.source_get_for_city(city, item_id)

    def update(self, item, data):
        return fleet.source_update(item, data)


@extend_schema_view(
    get=extend_schema(
        operation_id="cities_storage_list",
        parameters=PAGE_PARAMETERS,
        responses=paginated(StorageUnitSerializer, "PaginatedStorageList"),
    ),
    post=extend_schema(responses={201: StorageUnitSerializer}),
)
class StorageUnitsApi(_FleetItemsApi):
    serializer_class = StorageUnitSerializer

    def items(self, city):
        return selectors.storage_for_city(city)

    def create(self, city, data):
        return fleet.storage_create(city=city, data=data)


class StorageUnitApi(_FleetItemApi):
    serializer_class = StorageUnitSerializer

    def item(self, city, item_id):
        return selectors.storage_get_for_city(city, item_id)

    def update(self, item, data):
        return fleet.storage_update(item, data)


class DispatchesApi(APIView):
    parser_classes = [SafeJSONParser]  # JSON only, as _FleetItemsApi

    @extend_schema(request=DispatchRequestSerializer, responses={202: JOB_ACCEPTED_SCHEMA})
    def post(self, request):
        serializer = DispatchRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        _, job = services.dispatch_run_create(
            forecast_run=forecast_run_get_for_user(request.user, data["forecast_run"]),
            user=request.user,
            mode=data.get("mode"),
            policy=data.get("policy"),
            idempotency_key=idempotency_key_from(request),
        )
        return job_accepted_response(job)


class DispatchApi(APIView):
    @extend_schema(responses=DispatchRunSerializer)
    def get(self, request, dispatch_id):
        run = selectors.dispatch_run_get_for_user(request.user, dispatch_id)
        context = {"intervals": selectors.dispatch_run_intervals(run)}
        return Response(DispatchRunSerializer(run, context=context).data)
