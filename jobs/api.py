"""The job API: what clients poll (GET) and cancel (DELETE)."""

from __future__ import annotations

from django_filters import rest_framework as filters
from django_filters.utils import translate_validation
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from errors import Conflict
from httpapi.openapi import PAGE_PARAMETERS, paginated
from httpapi.pagination import paginated_response
from httpapi.params import query_params_not_empty
from jobs.models import Job
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


class JobApi(APIView):
    @extend_schema(responses=JobSerializer)
    def get(self, request, pk):
        return Response(JobSerializer(job_get_for_user(request.user, pk)).data)

    @extend_schema(responses={202: JOB_ACCEPTED_SCHEMA})
    def delete(self, request, pk):
        job = job_get_for_user(request.user, pk)
        if not job_cancel(job):
            raise Conflict(f"The job is already {job.state}; nothing to cancel.")
        return Response({"job": JobSerializer(job).data}, status=status.HTTP_202_ACCEPTED)
