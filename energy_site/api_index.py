"""The API's index (GET /api/v1/: a link to each resource, docs/api.md, Index) and its
Swagger UI page."""

from django.http import JsonResponse
from django.urls import reverse
from drf_spectacular.utils import extend_schema, inline_serializer
from drf_spectacular.views import SpectacularSwaggerView
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from httpapi.exceptions import error_body

# Link name -> URL name; each resource's collection (the detail paths hang below it).
RESOURCES = {
    "auth_token": "token-obtain",
    "auth_token_refresh": "token-refresh",
    "cities": "city-list",
    "models": "model-version-list",
    "forecasts": "forecasts",
    "forecasts_batch": "forecasts-batch",
    "dispatch": "dispatch-create",
    "jobs": "job-list",
    "schema": "schema",
    "docs": "swagger-ui",
}


class ApiRootApi(APIView):
    """Anyone may read the index: it names paths, never data."""

    permission_classes = [AllowAny]

    @extend_schema(
        summary="The API's index: a link to each resource",
        responses=inline_serializer(
            "ApiRoot", {name: serializers.URLField() for name in RESOURCES}
        ),
    )
    def get(self, request):
        return Response(
            {name: request.build_absolute_uri(reverse(url)) for name, url in RESOURCES.items()}
        )


class SwaggerUiApi(SpectacularSwaggerView):
    """Swagger UI (GET /api/docs/), files from drf-spectacular-sidecar. drf-spectacular's
    view answers OPTIONS with a 500 (its HTML renderer has no template for it): only GET
    and HEAD here, anything else is the envelope's 405."""

    http_method_names = ["get", "head"]

    def http_method_not_allowed(self, request, *args, **kwargs):
        # Rendered here: the view's HTML renderer would turn the envelope into a page.
        return JsonResponse(
            error_body("method_not_allowed", f'Method "{request.method}" not allowed.'),
            status=405,
            headers={"Allow": "GET, HEAD"},
        )
