"""Admin of cities and their observations (the training app adds "train now")."""

from django.contrib import admin

from audit.admin import AuditedModelAdmin
from cities.models import City, Observation
from cities.services import city_observation_summary_refresh


@admin.register(City)
class CityAdmin(AuditedModelAdmin):
    list_display = [
        "name",
        "organization",
        "country",
        "timezone",
        "resolution_minutes",
        "is_active",
        "observation_count",
        "last_observation",
    ]
    readonly_fields = ["observation_count", "first_observation", "last_observation"]
    list_filter = ["is_active", "country", "resolution_minutes", "organization"]
    search_fields = ["name", "organization__name", "timezone"]


@admin.register(Observation)
class ObservationAdmin(AuditedModelAdmin):
    list_display = ["city", "timestamp", "demand_mw", "temperature_c", "updated_at"]
    list_filter = ["city"]
    date_hierarchy = "timestamp"
    search_fields = ["city__name"]
    list_select_related = ["city"]
    show_full_result_count = False  # COUNT(*) over millions of rows on every page

    # A correction made here must reach the city's observation summary, like an upload.
    # The admin runs each of these inside a transaction.
    def save_model(self, request, obj, form, change):
        previous_city = Observation.objects.filter(pk=obj.pk).values_list("city", flat=True)
        city_ids = {obj.city_id, *previous_city}
        super().save_model(request, obj, form, change)
        _refresh_summaries(city_ids)

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        _refresh_summaries({obj.city_id})

    def delete_queryset(self, request, queryset):
        city_ids = set(queryset.values_list("city", flat=True).distinct())
        super().delete_queryset(request, queryset)
        _refresh_summaries(city_ids)


def _refresh_summaries(city_ids) -> None:
    for city in City.objects.filter(pk__in=city_ids):
        city_observation_summary_refresh(city=city)
