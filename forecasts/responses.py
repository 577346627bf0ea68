"""The answers every app gives for accepted heavy work (api.md: 202 + Location)."""

from drf_spectacular.utils import inline_serializer
from rest_framework import status
from rest_framework.response import Response

from energy_site.api import ApiError
from forecasts.models import Job
from forecasts.serializers import JobSerializer

JOB_ACCEPTED_SCHEMA = inline_serializer("JobAccepted", {"job": JobSerializer()})


def job_accepted_response(job: Job) -> Response:
    return Response(
        {"job": JobSerializer(job).data},
        status=status.HTTP_202_ACCEPTED,
        headers={"Location": f"/api/v1/jobs/{job.pk}/"},
    )


def broker_unavailable_error() -> ApiError:
    return ApiError(503, "broker_unavailable", "The task queue is unavailable; retry shortly.")
