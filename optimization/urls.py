from django.urls import path

from optimization import api

urlpatterns = [
    path("cities/<int:city_id>/sources/", api.SourceListView.as_view(), name="source-list"),
    path(
        "cities/<int:city_id>/sources/<int:item_id>/",
        api.SourceDetailView.as_view(),
        name="source-detail",
    ),
    path("cities/<int:city_id>/storage/", api.StorageListView.as_view(), name="storage-list"),
    path(
        "cities/<int:city_id>/storage/<int:item_id>/",
        api.StorageDetailView.as_view(),
        name="storage-detail",
    ),
    path("dispatch/", api.DispatchCreateView.as_view(), name="dispatch-create"),
    path("dispatch/<int:dispatch_id>/", api.DispatchDetailView.as_view(), name="dispatch-detail"),
]
