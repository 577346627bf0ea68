from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from energy_site import health, metrics
from energy_site.api_index import ApiRootApi, SwaggerUiApi

handler404 = "httpapi.exceptions.json_404"
handler500 = "httpapi.exceptions.json_500"

api_v1 = [
    path("", ApiRootApi.as_view(), name="api-root"),
    path("", include("accounts.urls")),
    path("", include("jobs.urls")),
    path("", include("cities.urls")),
    path("", include("weather.urls")),
    path("", include("training.urls")),
    path("", include("forecasts.urls")),
    path("", include("optimization.urls")),
]

urlpatterns = [
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SwaggerUiApi.as_view(url_name="schema"), name="swagger-ui"),
    path("health/live", health.live, name="health-live"),
    path("health/ready", health.ready, name="health-ready"),
    path("admin/", admin.site.urls),
    path("metrics", metrics.metrics, name="prometheus-metrics"),
    path("", include("dashboard.urls")),
]
