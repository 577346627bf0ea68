"""HTTP views of the cities app: the organisation's cities, and each city's observations
(upload: 202 + ingest job; read back: a page of rows)."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.parsers import BaseParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

import errors
from accounts.selectors import require_org_admin, require_organization_id
from cities.ingest import ObservationFileTooLarge
from cities.selectors import cities_for_user, city_get_for_user, observations_for_city
from cities.serializers import CitySerializer, ObservationSerializer
from cities.services import city_create
from cities.timestamps import DATE_TIME_SCHEMA, time_window_parse
from cities.uploads import observations_upload_accept
from httpapi.openapi import PAGE_PARAMETERS, paginated
from httpapi.pagination import paginated_response
from jobs.responses import JOB_ACCEPTED_SCHEMA, idempotency_key_from, job_accepted_response

RAW_UPLOAD_TYPES = (
    "text/csv",
    "text/plain",
    "application/csv",
    "application/json",
    "application/gzip",
    "application/octet-stream",
)


class RawBodyParser(BaseParser):
    """Declares the raw body types; the view reads ``request.body`` itself so that a
    malformed JSON body gets the same line-precise report as a malformed CSV."""

    media_type = "*/*"

    def parse(self, stream, media_type=None, parser_context=None):
        return {}


def content_length_read(request) -> int:
    """The declared body size; 0 if absent (RejectMalformedContentLength has already
    answered any header that is not a whole number)."""
    return int(request.META.get("CONTENT_LENGTH") or 0)


class CitiesApi(APIView):
    # GET: the organisation's cities (members); POST: a new one (organisation admins).

    @extend_schema(
        operation_id="v1_cities_list",
        parameters=PAGE_PARAMETERS,
        responses=paginated(CitySerializer, "PaginatedCityList"),
    )
    def get(self, request):
        # Names are unique per organisation; pk keeps pages stable.
        cities = cities_for_user(request.user).order_by("name", "pk")
        return paginated_response(request, self, cities, CitySerializer)

    @extend_schema(request=CitySerializer, responses={201: CitySerializer})
    def post(self, request):
        serializer = CitySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        require_org_admin(request.user, "add cities")
        city = city_create(
            organization_id=require_organization_id(request.user), **serializer.validated_data
        )
        return Response(CitySerializer(city).data, status=status.HTTP_201_CREATED)


class CityApi(APIView):
    @extend_schema(responses=CitySerializer)
    def get(self, request, pk: int):
        return Response(CitySerializer(city_get_for_user(request.user, pk)).data)


class CityObservationsApi(APIView):
    parser_classes = [MultiPartParser, RawBodyParser]

    @extend_schema(
        parameters=[
            *PAGE_PARAMETERS,
            OpenApiParameter("start", DATE_TIME_SCHEMA, description="inclusive"),
            OpenApiParameter("end", DATE_TIME_SCHEMA, description="exclusive"),
        ],
        responses=paginated(ObservationSerializer, "PaginatedObservationList"),
    )
    def get(self, request, city_id: int):
        city = city_get_for_user(request.user, city_id)
        start, end = time_window_parse(request.query_params, city.timezone)
        observations = observations_for_city(city, start, end)
        return paginated_response(request, self, observations, ObservationSerializer)

    @extend_schema(
        request={
            "multipart/form-data": {
                "type": "object",
                "properties": {"file": {"type": "string", "format": "binary"}},
                "required": ["file"],
            },
            "text/csv": {"type": "string"},
            "application/json": {"type": "array", "items": {"type": "object"}, "minItems": 1},
        },
        responses={202: JOB_ACCEPTED_SCHEMA},
    )
    def post(self, request, city_id: int):
        city = city_get_for_user(request.user, city_id)
        require_org_admin(request.user, "upload data")
        data, content_type = self._upload_read(request)
        job, _ = observations_upload_accept(
            city=city,
            user=request.user,
            data=data,
            content_type=content_type,
            idempotency_key=idempotency_key_from(request),
        )
        return job_accepted_response(job)

    def _upload_read(self, request) -> tuple[bytes, str]:
        limit = settings.UPLOAD_MAX_BYTES
        declared = content_length_read(request)
        if declared > limit + 64 * 1024:  # multipart framing adds a little
            raise ObservationFileTooLarge(declared, limit)
        content_type = (request.content_type or "").split(";")[0].strip().lower()
        if content_type == "multipart/form-data":
            upload = request.FILES.get("file")
            if upload is None:
                raise errors.InvalidInput("Send the file in the multipart field 'file'.")
            if upload.size > limit:
                raise ObservationFileTooLarge(upload.size, limit)
            name = (upload.name or "").lower()
            kind = "application/json" if name.endswith(".json") else upload.content_type
            return upload.read(), kind
        if content_type not in RAW_UPLOAD_TYPES:
            raise errors.UnsupportedMediaType(
                f"Send text/csv, application/json or a multipart 'file', not '{content_type}'."
            )
        try:
            return request.body, content_type
        except RequestDataTooBig:
            raise ObservationFileTooLarge(declared, limit) from None
