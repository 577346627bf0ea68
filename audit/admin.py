"""The audit trail in the admin: read-only, for admins; and the mixin that records
every add, change and delete made through another app's admin."""

from django.contrib import admin

from audit.models import AuditRecord
from audit.services import audit_record


@admin.register(AuditRecord)
class AuditRecordAdmin(admin.ModelAdmin):
    list_display = ["at", "actor", "action", "object_repr", "organization", "via", "ip"]
    list_filter = ["via", "action", "organization"]
    search_fields = ["actor", "action", "object_repr", "object_id", "ip"]
    date_hierarchy = "at"
    readonly_fields = [f.name for f in AuditRecord._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class AuditedModelAdmin(admin.ModelAdmin):
    """Records the admin's adds, changes and deletes in the audit trail (besides
    Django's own LogEntry, which admins can edit away with the database)."""

    def log_addition(self, request, obj, message):
        audit_record(f"{obj._meta.model_name}.create", obj, details={"admin": str(message)})
        return super().log_addition(request, obj, message)

    def log_change(self, request, obj, message):
        audit_record(f"{obj._meta.model_name}.change", obj, details={"admin": str(message)})
        return super().log_change(request, obj, message)

    def log_deletions(self, request, queryset):
        for obj in queryset:
            audit_record(f"{obj._meta.model_name}.delete", obj)
        return super().log_deletions(request, queryset)
