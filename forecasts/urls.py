from django.urls import include, path
from rest_framework.routers import SimpleRouter
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from forecasts import api

router = SimpleRouter()
router.register("cities", api.CityViewSet, basename="city")
router.register("jobs", api.JobViewSet, basename="job")

urlpatterns = [
    path("auth/token/", TokenObtainPairView.as_view(), name="token-obtain"),
    path("auth/token/refresh/", TokenRefreshView.as_view(), name="token-refresh"),
    path("forecasts/", api.ForecastCreateView.as_view(), name="forecasts"),
    path("forecasts/batch/", api.ForecastBatchView.as_view(), name="forecasts-batch"),
    path("forecast-runs/<int:pk>/", api.ForecastRunDetailView.as_view(), name="forecast-run"),
    path("", include("forecasts.ingest_urls")),
    *router.urls,
]
