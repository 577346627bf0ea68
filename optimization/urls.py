from django.urls import path

from optimization import api

urlpatterns = [
    path("cities/<int:city_id>/sources/", api.SourcesApi.as_view(), name="source-list"),
    path(
        "cities/<int:city_id>/sources/<int:item_id>/",
        api.SourceApi.as_view(),
        name="source-detail",
    ),
    path("cities/<int:city_id>/storage/", api.StorageUnitsApi.as_view(), name="storage-list"),
    path(
        "cities/<int:city_id>/storage/<int:item_id>/",
        api.StorageUnitApi.as_view(),
        name="storage-detail",
    ),
    path("dispatch/", api.DispatchesApi.as_view(), name="dispatch-create"),
    path("dispatch/<int:dispatch_id>/", api.DispatchApi.as_view(), name="dispatch-detail"),
]
