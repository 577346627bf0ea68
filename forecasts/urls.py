"""Routes of the forecasts app, mounted under /api/v1/."""

from django.urls import path

from forecasts import api

urlpatterns = [
    path("forecasts/", api.ForecastsApi.as_view(), name="forecasts"),
    path("forecasts/batch/", api.ForecastBatchApi.as_view(), name="forecasts-batch"),
    path("forecast-runs/<int:pk>/", api.ForecastRunApi.as_view(), name="forecast-run"),
]
