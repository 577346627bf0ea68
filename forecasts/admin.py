"""Admin of forecast runs and their points (read-only: runs come from forecast jobs)."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from forecasts.models import Forecast, ForecastRun


class ForecastInline(admin.TabularInline):
    model = Forecast
    fields = ["timestamp", "demand", "confidence_lower", "confidence_upper"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(ForecastRun)
class ForecastRunAdmin(admin.ModelAdmin):
    list_display = ["id", "city", "start", "horizon_hours", "method", "quality", "issued_at"]
    list_filter = ["quality", "method", "city"]
    search_fields = ["city__name", "method"]
    date_hierarchy = "issued_at"
    list_select_related = ["city"]
    readonly_fields = ["issued_at", "job_link"]
    raw_id_fields = ["model_version", "job"]
    inlines = [ForecastInline]

    @admin.display(description="job")
    def job_link(self, run):
        if run.job_id is None:
            return "-"
        url = reverse("admin:jobs_job_change", args=[run.job_id])
        return format_html('<a href="{}">{}</a>', url, run.job_id)


@admin.register(Forecast)
class ForecastAdmin(admin.ModelAdmin):
    list_display = ["city", "timestamp", "demand", "confidence_lower", "confidence_upper", "run"]
    list_filter = ["city"]
    date_hierarchy = "timestamp"
    search_fields = ["city__name"]
    raw_id_fields = ["run"]
    list_select_related = ["city", "run"]
