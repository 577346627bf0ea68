"""Routes of the weather app, mounted under /api/v1/."""

from django.urls import path

from weather import api

urlpatterns = [
    path(
        "cities/<int:city_id>/weather-forecasts/",
        api.CityWeatherForecastsApi.as_view(),
        name="city-weather-forecasts",
    ),
]
