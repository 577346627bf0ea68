"""Admin of jobs: read-only rows, and an action that cancels."""

from django.contrib import admin

from jobs.models import Job
from jobs.services import job_cancel


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "state", "progress", "organization", "created_at"]
    list_filter = ["kind", "state", "organization"]
    search_fields = ["id", "celery_task_id", "idempotency_key", "request_id"]
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
        "request_id",
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
