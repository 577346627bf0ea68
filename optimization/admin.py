from django import forms
from django.contrib import admin

from audit.admin import AuditedModelAdmin
from optimization.fleet import penalty_order_complaint_after
from optimization.models import DispatchRun, EnergyMix, GenerationSource, StorageUnit


class _FleetItemForm(forms.ModelForm):
    """The API's fleet-wide check in the admin too: a save must keep the penalty order."""

    def _post_clean(self):
        super()._post_clean()
        if not self.errors and self.instance.city_id is not None:
            complaint = penalty_order_complaint_after(self.instance)
            if complaint:
                self.add_error(None, complaint)


@admin.register(GenerationSource)
class GenerationSourceAdmin(AuditedModelAdmin):
    form = _FleetItemForm
    list_display = (
        "city", "name", "kind", "capacity_mw", "marginal_cost", "co2_t_per_mwh", "renewable",
        "is_active",
    )  # fmt: skip
    list_filter = ("kind", "renewable", "availability_model", "is_active", "city")
    search_fields = ("name", "city__name")
    list_select_related = ("city",)
    fieldsets = (
        (None, {"fields": ("city", "name", "kind", "is_active")}),
        ("Capacity and costs", {"fields": (
            "capacity_mw", "marginal_cost", "co2_t_per_mwh", "renewable",
        )}),
        ("Operation", {"fields": (
            "must_run_fraction", "ramp_limit", "daily_energy_budget_mwh", "reserve_fraction",
            "reserve_cost",
        )}),
        ("Availability", {"fields": (
            "availability_model", "availability", "availability_profile", "pv_tilt_deg",
            "pv_azimuth_deg", "hub_height_m", "turbine_type",
        )}),
    )  # fmt: skip


@admin.register(StorageUnit)
class StorageUnitAdmin(AuditedModelAdmin):
    form = _FleetItemForm
    list_display = (
        "city", "name", "power_mw", "energy_mwh", "charge_efficiency", "discharge_efficiency",
        "terminal_soc", "is_active",
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
    readonly_fields = (
        "created_at", "kpis", "shortfalls", "conflicts", "availability_basis", "solve_seconds",
        "build_seconds",
    )  # fmt: skip


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
