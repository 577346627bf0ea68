"""Routes of the job API, mounted under /api/v1/."""

from django.urls import path

from jobs import api

urlpatterns = [
    path("jobs/", api.JobsApi.as_view(), name="job-list"),
    path("jobs/<uuid:pk>/", api.JobApi.as_view(), name="job-detail"),
]
