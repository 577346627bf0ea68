"""Training and model-registry endpoints (mounted under /api/v1/)."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.selectors import require_org_admin
from cities.selectors import city_get_for_user
from httpapi.openapi import PAGE_PARAMETERS, paginated
from httpapi.pagination import paginated_response
from httpapi.params import parse_id, query_params_not_empty
from jobs.responses import JOB_ACCEPTED_SCHEMA, idempotency_key_from, job_accepted_response
from training.selectors import model_version_get_for_user, model_versions_for_user
from training.serializers import ModelVersionDetailSerializer, ModelVersionListSerializer
from training.services import model_version_promote, training_job_start


class CityTrainApi(APIView):
    @extend_schema(request=None, responses={202: JOB_ACCEPTED_SCHEMA})
    def post(self, request, city_id: int):
        city = city_get_for_user(request.user, city_id)
        job = training_job_start(
            city=city, user=request.user, idempotency_key=idempotency_key_from(request)
        )
        return job_accepted_response(job)


class ModelVersionsApi(APIView):
    @extend_schema(
        operation_id="v1_models_list",
        parameters=[
            *PAGE_PARAMETERS,
            OpenApiParameter(
                "city",
                {"type": "integer", "minimum": 1},
                description="only this city's versions",
            ),
        ],
        responses=paginated(ModelVersionListSerializer, "PaginatedModelVersionListList"),
    )
    def get(self, request):
        query_params_not_empty(request.query_params, "city")
        city = request.query_params.get("city")
        versions = model_versions_for_user(
            request.user, city_id=parse_id(city, "city") if city else None
        ).order_by("city_id", "-version")
        return paginated_response(request, self, versions, ModelVersionListSerializer)


class ModelVersionApi(APIView):
    @extend_schema(responses=ModelVersionDetailSerializer)
    def get(self, request, model_id: int):
        model_version = model_version_get_for_user(request.user, model_id)
        return Response(ModelVersionDetailSerializer(model_version).data)


class ModelVersionPromoteApi(APIView):
    @extend_schema(request=None, responses={200: ModelVersionDetailSerializer})
    def post(self, request, model_id: int):
        model_version = model_version_get_for_user(request.user, model_id)  # foreign: 404
        require_org_admin(request.user, "promote models")
        model_version.promotion_note = f"Promoted by {request.user} through the API."[:300]
        model_version_promote(model_version)
        return Response(ModelVersionDetailSerializer(model_version).data)
