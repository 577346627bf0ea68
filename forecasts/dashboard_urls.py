from django.urls import path

from forecasts import dashboard

urlpatterns = [path("", dashboard.index, name="dashboard")]
