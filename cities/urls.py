"""Routes of the cities app, mounted under /api/v1/."""

from django.urls import path

from cities import api

urlpatterns = [
    path("cities/", api.CitiesApi.as_view(), name="city-list"),
    path("cities/<int:pk>/", api.CityApi.as_view(), name="city-detail"),
    path(
        "cities/<int:city_id>/observations/",
        api.CityObservationsApi.as_view(),
        name="city-observations",
    ),
]
