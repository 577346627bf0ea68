from django.contrib import admin

from optimization.models import DispatchRun, EnergyMix, GenerationSource, StorageUnit


@admin.register(GenerationSource)
class GenerationSourceAdmin(admin.ModelAdmin):
    list_display = (
        "city", "name", "kind", "capacity_mw", "marginal_cost", "co2_t_per_mwh", "renewable",
        "is_active",
    )  # fmt: skip
    list_filter = ("kind", "renewable", "is_active", "city")
    search_fields = ("name", "city__name")
    list_select_related = ("city",)


@admin.register(StorageUnit)
class StorageUnitAdmin(admin.ModelAdmin):
    list_display = (
        "city", "name", "power_mw", "energy_mwh", "charge_efficiency", "discharge_efficiency",
        "is_active",
    )  # fmt: skip
    list_filter = ("is_active", "city")
    search_fields = ("name", "city__name")
    list_select_related = ("city",)


@admin.register(DispatchRun)
class DispatchRunAdmin(admin.ModelAdmin):
    list_display = (
        "id", "forecast_run", "mode", "status", "total_cost", "total_co2_t", "renewable_share",
        "unserved_mwh", "created_at",
    )  # fmt: skip
    list_filter = ("status", "mode")
    search_fields = ("forecast_run__city__name", "status_reason")
    list_select_related = ("forecast_run__city",)
    raw_id_fields = ("forecast_run", "job")
    readonly_fields = ("created_at",)


@admin.register(EnergyMix)
class EnergyMixAdmin(admin.ModelAdmin):
    list_display = ("dispatch_run", "timestamp", "source_name", "allocation", "cost", "co2_t")
    list_filter = ("source_name", "dispatch_run__status")
    search_fields = ("source_name",)
    date_hierarchy = "timestamp"

    # Results are written by the solver only.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
