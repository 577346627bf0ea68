"""The answers every app gives for accepted heavy work (docs/api.md: 202 + Location)."""

from drf_spectacular.utils import inline_serializer
from rest_framework import status
from rest_framework.response import Response

import errors
from jobs.models import Job
from jobs.serializers import JobSerializer, job_data

JOB_ACCEPTED_SCHEMA = inline_serializer("JobAccepted", {"job": JobSerializer()})


def job_accepted_response(job: Job) -> Response:
    return Response(
        {"job": job_data(job)},
        status=status.HTTP_202_ACCEPTED,
        headers={"Location": f"/api/v1/jobs/{job.pk}/"},
    )


IDEMPOTENCY_KEY_MAX_LENGTH = 200  # Job.idempotency_key's column size


def idempotency_key_from(request) -> str:
    """The request's Idempotency-Key header ("" if none); a key that cannot be stored
    whole is a 400, since cutting it would make different keys collide."""
    key = request.headers.get("Idempotency-Key", "")
    if len(key) > IDEMPOTENCY_KEY_MAX_LENGTH or not key.isprintable():
        raise errors.InvalidInput(
            f"Idempotency-Key must be at most {IDEMPOTENCY_KEY_MAX_LENGTH} printable characters."
        )
    return key
