"""Routes of the observations API; included by forecasts/urls.py under /api/v1/."""

from django.urls import path

from forecasts.ingest_api import CityObservationsView

urlpatterns = [
    path(
        "cities/<int:city_id>/observations/",
        CityObservationsView.as_view(),
        name="city-observations",
    ),
]
