"""Admin of tenants, cities, data, forecasts and jobs (actions: train now, cancel job)."""

from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html

from forecasts.models import (
    ApiKey,
    City,
    Forecast,
    ForecastRun,
    Job,
    Membership,
    Observation,
    Organization,
)
from forecasts.services.ingest import city_observation_summary_refresh
from forecasts.services.jobs import job_cancel


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "created_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "organization", "role"]
    list_filter = ["role", "organization"]
    search_fields = ["user__username", "organization__name"]
    autocomplete_fields = ["user", "organization"]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["name", "organization", "prefix", "created_at", "revoked"]
    list_filter = ["revoked", "organization"]
    search_fields = ["name", "prefix", "organization__name"]
    fields = ["organization", "name", "prefix", "created_at", "revoked"]
    readonly_fields = ["prefix", "created_at"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.prefix, raw_key = ApiKey.generate()
            obj.hashed_key = ApiKey.hash(raw_key)
            super().save_model(request, obj, form, change)
            # The raw key exists only in this message: it is never stored.
            messages.warning(request, f"API key (copy it now, it is shown only once): {raw_key}")
            return
        super().save_model(request, obj, form, change)


@admin.register(City)
class CityAdmin(admin.ModelAdmin):
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
    actions = ["train_now"]

    @admin.action(description="Train a new model now")
    def train_now(self, request, queryset):
        from training.services import training_job_start  # the training app owns this flow

        for city in queryset:
            try:
                job = training_job_start(city=city, user=request.user)
            except Exception as exc:  # one city's refusal must not hide the others' jobs
                self.message_user(request, f"{city}: not started ({exc}).", messages.ERROR)
                continue
            job = job[0] if isinstance(job, tuple) else job
            self.message_user(request, f"{city}: training job {job.pk} queued.", messages.SUCCESS)


@admin.register(Observation)
class ObservationAdmin(admin.ModelAdmin):
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
        url = reverse("admin:forecasts_job_change", args=[run.job_id])
        return format_html('<a href="{}">{}</a>', url, run.job_id)


@admin.register(Forecast)
class ForecastAdmin(admin.ModelAdmin):
    list_display = ["city", "timestamp", "demand", "confidence_lower", "confidence_upper", "run"]
    list_filter = ["city"]
    date_hierarchy = "timestamp"
    search_fields = ["city__name"]
    raw_id_fields = ["run"]
    list_select_related = ["city", "run"]


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "state", "progress", "organization", "created_at"]
    list_filter = ["kind", "state", "organization"]
    search_fields = ["id", "celery_task_id", "idempotency_key"]
    date_hierarchy = "created_at"
    list_select_related = ["organization"]
    actions = ["cancel"]
    readonly_fields = [
        "id",
        "organization",
        "user",
        "kind",
        "params",
        "state",
        "progress",
        "result",
        "error",
        "attempts",
        "celery_task_id",
        "request_key",
        "idempotency_key",
        "created_at",
        "started_at",
        "finished_at",
    ]

    def has_add_permission(self, request):
        return False  # jobs come from the API, the commands and the scheduler

    @admin.action(description="Cancel the selected jobs")
    def cancel(self, request, queryset):
        cancelled = sum(job_cancel(job) for job in queryset)
        skipped = queryset.count() - cancelled
        self.message_user(request, f"{cancelled} job(s) cancelled; {skipped} already finished.")
