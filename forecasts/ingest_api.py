"""``/cities/{id}/observations/``: upload history (202 + ingest job) and read it back."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import BaseParser, MultiPartParser

import errors
from forecasts.ingest import ObservationFileTooLarge
from forecasts.models import Observation
from forecasts.responses import (
    JOB_ACCEPTED_SCHEMA,
    idempotency_key_from,
    job_accepted_response,
)
from forecasts.selectors import city_get_for_user, observations_for_city, user_is_org_admin
from forecasts.services.ingest import observations_upload_accept
from forecasts.timestamps import time_window_parse
from httpapi.openapi import paginated

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


class ObservationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Observation
        fields = ["timestamp", "demand_mw", *Observation.WEATHER_FIELDS]


def content_length_read(request) -> int:
    """The declared body size; 0 if absent (RejectMalformedContentLength has already
    answered any header that is not a whole number)."""
    return int(request.META.get("CONTENT_LENGTH") or 0)


class CityObservationsView(GenericAPIView):
    serializer_class = ObservationSerializer
    parser_classes = [MultiPartParser, RawBodyParser]

    @extend_schema(
        parameters=[
            OpenApiParameter("start", OpenApiTypes.DATETIME, description="inclusive"),
            OpenApiParameter("end", OpenApiTypes.DATETIME, description="exclusive"),
        ],
        responses=paginated(ObservationSerializer, "PaginatedObservationList"),
    )
    def get(self, request, city_id: int):
        city = city_get_for_user(request.user, city_id)
        start, end = time_window_parse(request.query_params, city.timezone)
        page = self.paginate_queryset(observations_for_city(city, start, end))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(
        request={
            "multipart/form-data": {
                "type": "object",
                "properties": {"file": {"type": "string", "format": "binary"}},
            },
            "text/csv": {"type": "string"},
            "application/json": {"type": "array", "items": {"type": "object"}},
        },
        responses={202: JOB_ACCEPTED_SCHEMA},
    )
    def post(self, request, city_id: int):
        city = city_get_for_user(request.user, city_id)
        if not user_is_org_admin(request.user):
            raise errors.PermissionDenied("Only organisation admins may upload data.")
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
