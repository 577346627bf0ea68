"""Training and model-registry endpoints (mounted under /api/v1/)."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics
from rest_framework.response import Response
from rest_framework.views import APIView

from errors import Conflict, PermissionDenied
from forecasts.responses import (
    JOB_ACCEPTED_SCHEMA,
    idempotency_key_from,
    job_accepted_response,
)
from forecasts.selectors import city_get_for_user, user_is_org_admin
from httpapi.params import parse_id
from training.models import ModelVersion
from training.selectors import model_versions_for_user
from training.serializers import (
    ModelVersionDetailSerializer,
    ModelVersionListSerializer,
)
from training.services import model_version_promote, training_job_start


class CityTrainApi(APIView):
    @extend_schema(
        request=None,
        responses={202: JOB_ACCEPTED_SCHEMA},
    )
    def post(self, request, city_id: int):
        city = city_get_for_user(request.user, city_id)
        job = training_job_start(
            city=city, user=request.user, idempotency_key=idempotency_key_from(request)
        )
        return job_accepted_response(job)


@extend_schema(parameters=[OpenApiParameter("city", int, description="only this city's versions")])
class ModelVersionListApi(generics.ListAPIView):
    serializer_class = ModelVersionListSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return ModelVersion.objects.none()
        queryset = model_versions_for_user(self.request.user).order_by("city_id", "-version")
        city = self.request.query_params.get("city")
        if city:
            queryset = queryset.filter(city_id=parse_id(city, "city"))
        return queryset


class _OrganisationModelVersions:
    """One model version of the caller's organisation, looked up by ``model_id``."""

    serializer_class = ModelVersionDetailSerializer
    lookup_url_kwarg = "model_id"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ModelVersion.objects.none()
        return model_versions_for_user(self.request.user)


class ModelVersionDetailApi(_OrganisationModelVersions, generics.RetrieveAPIView):
    pass


class ModelVersionPromoteApi(_OrganisationModelVersions, generics.GenericAPIView):
    @extend_schema(request=None, responses={200: ModelVersionDetailSerializer})
    def post(self, request, model_id: int):
        model_version = self.get_object()  # another organisation's model: 404
        if not user_is_org_admin(request.user):
            raise PermissionDenied("Only organisation admins can promote models.")
        if not model_version.artifact:
            raise Conflict("This model version has no stored artifact.", code="no_artifact")
        model_version.promotion_note = f"Promoted by {request.user} through the API."[:300]
        model_version_promote(model_version)
        return Response(self.get_serializer(model_version).data)
