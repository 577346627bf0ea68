from rest_framework import serializers

from training.models import ModelVersion


class ModelVersionListSerializer(serializers.ModelSerializer):
    mape = serializers.SerializerMethodField()
    naive_mape = serializers.SerializerMethodField()
    rmse = serializers.SerializerMethodField()
    pinball = serializers.SerializerMethodField()
    coverage_90 = serializers.SerializerMethodField()
    skill_mape = serializers.SerializerMethodField()
    live_mape = serializers.SerializerMethodField()
    live_coverage_90 = serializers.SerializerMethodField()
    live_points = serializers.SerializerMethodField()
    live_updated_at = serializers.SerializerMethodField()

    class Meta:
        model = ModelVersion
        fields = [
            "id",
            "city",
            "version",
            "algorithm",
            "status",
            "mape",
            "naive_mape",
            "rmse",
            "pinball",
            "coverage_90",
            "skill_mape",
            "live_mape",
            "live_coverage_90",
            "live_points",
            "live_updated_at",
            "created_at",
            "promoted_at",
        ]

    def get_mape(self, obj) -> float | None:
        return (obj.metrics.get("model") or {}).get("mape")

    def _score(self, obj, name: str) -> float | None:
        return (obj.metrics.get("model") or {}).get(name)

    def get_rmse(self, obj) -> float | None:
        return self._score(obj, "rmse")

    def get_pinball(self, obj) -> float | None:
        return self._score(obj, "pinball")

    def get_coverage_90(self, obj) -> float | None:
        """Share of backtest outcomes inside the calibrated 5 %-95 % band, %."""
        return self._score(obj, "coverage_90")

    def get_skill_mape(self, obj) -> float | None:
        """1 - MAPE / seasonal naive MAPE on the same window."""
        return self._score(obj, "skill_mape")

    def get_naive_mape(self, obj) -> float | None:
        return (obj.metrics.get("seasonal_naive") or {}).get("mape")

    # Live: the version's issued day-ahead forecasts against the actuals that arrived
    # since (forecasts/live_accuracy.py), next to the backtest figures above.
    def get_live_mape(self, obj) -> float | None:
        return (obj.live_metrics or {}).get("mape")

    def get_live_coverage_90(self, obj) -> float | None:
        return (obj.live_metrics or {}).get("coverage_90")

    def get_live_points(self, obj) -> int:
        return int((obj.live_metrics or {}).get("points") or 0)

    def get_live_updated_at(self, obj) -> str | None:
        return (obj.live_metrics or {}).get("updated_at")


class ModelVersionDetailSerializer(ModelVersionListSerializer):
    class Meta(ModelVersionListSerializer.Meta):
        fields = [
            *ModelVersionListSerializer.Meta.fields,
            "quantiles",
            "features",
            "params",
            "train_start",
            "train_end",
            "backtest_start",
            "backtest_end",
            "metrics",
            "feature_importance",
            "live_metrics",
            "live_calibration",
            "promotion_note",
            "job",
        ]
