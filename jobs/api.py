"""The job API: what clients poll (GET) and cancel (DELETE)."""

from __future__ import annotations

from django.conf import settings
from django_filters import rest_framework as filters
from django_filters.utils import translate_validation
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

import errors
from accounts.hot_reads import CachedReadMixin
from errors import Conflict
from httpapi.openapi import PAGE_PARAMETERS, paginated
from httpapi.pagination import paginated_response
from httpapi.params import query_params_not_empty
from httpapi.rendered import rendered_response
from jobs.models import Job
from jobs.rendered import job_cache_key, job_rendered_for_user, job_rendered_wait
from jobs.responses import JOB_ACCEPTED_SCHEMA
from jobs.selectors import job_get_for_user, jobs_for_user
from jobs.serializers import JobSerializer
from jobs.services import job_cancel


class JobFilter(filters.FilterSet):
    class Meta:
        model = Job
        fields = ["kind", "state"]


class JobsApi(APIView):
    @extend_schema(
        operation_id="v1_jobs_list",
        parameters=[
            *PAGE_PARAMETERS,
            OpenApiParameter("kind", str, enum=Job.Kind.values),
            OpenApiParameter("state", str, enum=Job.State.values),
        ],
        responses=paginated(JobSerializer, "PaginatedJobList"),
    )
    def get(self, request):
        # django-filter reads an empty value as "no filter"; the schema lists the values.
        query_params_not_empty(request.query_params, "kind", "state")
        selected = JobFilter(request.query_params, queryset=jobs_for_user(request.user))
        if not selected.is_valid():
            raise translate_validation(selected.errors)
        return paginated_response(request, self, selected.qs, JobSerializer)


def job_wait_seconds(query_params) -> int:
    """``wait`` of GET /jobs/{id}/: whole seconds from 0 to JOB_WAIT_MAX_SECONDS (0 if
    absent); anything else is a 400 rather than a silent default."""
    raw = query_params.get("wait")
    if raw is None:
        return 0
    top = settings.JOB_WAIT_MAX_SECONDS
    if not (raw.isascii() and raw.isdigit()) or int(raw) > top:
        raise errors.InvalidInput(
            f"wait must be a whole number of seconds from 0 to {top}.",
            details={"field": "wait", "value": raw[:40]},
        )
    return int(raw)


class JobApi(CachedReadMixin, APIView):
    def cached_rendering_key(self, pk, **kwargs) -> str:
        return job_cache_key(pk)

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "wait",
                {"type": "integer", "minimum": 0, "maximum": settings.JOB_WAIT_MAX_SECONDS},
                required=False,
                description="Hold the request up to this many seconds until the job finishes.",
            )
        ],
        responses=JobSerializer,
    )
    def get(self, request, pk):
        """The job, from its cached rendering; ``?wait=N`` answers as soon as it finishes
        (or after N seconds). An unfinished job's answer carries Retry-After."""
        wait = job_wait_seconds(request.query_params)
        rendered = job_rendered_for_user(request.user, pk)
        if wait and not rendered.final:
            rendered = job_rendered_wait(request.user, pk, wait)
        headers = {}
        if not rendered.final:
            headers["Retry-After"] = str(settings.JOB_RETRY_AFTER_SECONDS)
        return rendered_response(request, rendered, headers)

    @extend_schema(responses={202: JOB_ACCEPTED_SCHEMA})
    def delete(self, request, pk):
        job = job_get_for_user(request.user, pk)
        if not job_cancel(job):
            raise Conflict(f"The job is already {job.state}; nothing to cancel.")
        return Response({"job": JobSerializer(job).data}, status=status.HTTP_202_ACCEPTED)
