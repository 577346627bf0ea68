from django.urls import path

from training import api

urlpatterns = [
    path("cities/<int:city_id>/train/", api.CityTrainApi.as_view(), name="city-train"),
    path("models/", api.ModelVersionsApi.as_view(), name="model-version-list"),
    path("models/<int:model_id>/", api.ModelVersionApi.as_view(), name="model-version-detail"),
    path(
        "models/<int:model_id>/promote/",
        api.ModelVersionPromoteApi.as_view(),
        name="model-version-promote",
    ),
]
