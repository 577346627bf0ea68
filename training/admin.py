from django.contrib import admin, messages

from training.models import ModelVersion
from training.services import model_version_promote


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = [
        "city",
        "version",
        "algorithm",
        "status",
        "backtest_mape",
        "backtest_pinball",
        "backtest_coverage",
        "skill",
        "created_at",
    ]
    list_filter = ["status", "city", "algorithm"]
    search_fields = ["city__name", "algorithm", "promotion_note"]
    list_select_related = ["city"]
    readonly_fields = [
        "metrics",
        "feature_importance",
        "features",
        "quantiles",
        "params",
        "train_start",
        "train_end",
        "backtest_start",
        "backtest_end",
        "promotion_note",
        "promoted_at",
        "created_at",
        "job",
    ]
    actions = ["promote"]

    @admin.display(description="Backtest MAPE %")
    def backtest_mape(self, obj):
        return (obj.metrics.get("model") or {}).get("mape")

    @admin.display(description="Pinball MW")
    def backtest_pinball(self, obj):
        return (obj.metrics.get("model") or {}).get("pinball")

    @admin.display(description="90 % coverage")
    def backtest_coverage(self, obj):
        return (obj.metrics.get("model") or {}).get("coverage_90")

    @admin.display(description="Skill vs naive")
    def skill(self, obj):
        return (obj.metrics.get("model") or {}).get("skill_mape")

    @admin.action(description="Promote (make active, retire the current active model)")
    def promote(self, request, queryset):
        if queryset.values("city").distinct().count() != queryset.count():
            self.message_user(
                request, "Select at most one version per city to promote.", messages.ERROR
            )
            return
        for model_version in queryset:
            model_version.promotion_note = f"Promoted by {request.user} in the admin."[:300]
            model_version_promote(model_version)
        self.message_user(request, f"Promoted {queryset.count()} model version(s).")
