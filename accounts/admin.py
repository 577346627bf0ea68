"""Admin of organisations, memberships and API keys."""

from django.contrib import admin, messages

from accounts.models import ApiKey, Membership, Organization
from accounts.services import api_key_issue


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
        if change:
            super().save_model(request, obj, form, change)
            return
        raw_key = api_key_issue(obj)
        messages.warning(request, f"API key (copy it now, it is shown only once): {raw_key}")
