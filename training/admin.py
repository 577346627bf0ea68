"""Admin of the model registry, and the "train now" action on the cities' admin."""

from django.contrib import admin, messages

from cities.admin import CityAdmin
from cities.models import City
from errors import DomainError
from training.models import ModelVersion
from training.services import model_version_promote, training_job_start


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
        "live_mape",
        "live_coverage",
        "live_points",
        "created_at",
    ]
    list_filter = ["status", "city", "algorithm"]
    search_fields = ["city__name", "algorithm", "promotion_note"]
    list_select_related = ["city"]
    readonly_fields = [
        "metrics",
        "live_metrics",
        "live_calibration",
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
        # Which version is active changes only through promotion (the action below),
        # which also keeps the city's active-model summary.
        "status",
        "artifact",
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

    @admin.display(description="Live MAPE %")
    def live_mape(self, obj):
        return (obj.live_metrics or {}).get("mape")

    @admin.display(description="Live 90 % coverage")
    def live_coverage(self, obj):
        return (obj.live_metrics or {}).get("coverage_90")

    @admin.display(description="Live points")
    def live_points(self, obj):
        return (obj.live_metrics or {}).get("points")

    @admin.action(description="Promote (make active, retire the current active model)")
    def promote(self, request, queryset):
        if queryset.values("city").distinct().count() != queryset.count():
            self.message_user(
                request, "Select at most one version per city to promote.", messages.ERROR
            )
            return
        promoted = 0
        for model_version in queryset:
            model_version.promotion_note = f"Promoted by {request.user} in the admin."[:300]
            try:
                model_version_promote(model_version)
            except DomainError as exc:
                self.message_user(request, f"{model_version}: {exc.message}", messages.ERROR)
                continue
            promoted += 1
        self.message_user(request, f"Promoted {promoted} model version(s).")


# The cities app knows nothing of training; training adds its action to the city admin.
admin.site.unregister(City)


@admin.register(City)
class CityTrainingAdmin(CityAdmin):
    actions = ["train_now"]

    @admin.action(description="Train a new model now")
    def train_now(self, request, queryset):
        for city in queryset:
            try:
                job = training_job_start(city=city, user=request.user)
            except DomainError as exc:  # one city's refusal must not hide the others' jobs
                self.message_user(request, f"{city}: not started ({exc.message}).", messages.ERROR)
                continue
            self.message_user(request, f"{city}: training job {job.pk} queued.", messages.SUCCESS)
