from rest_framework import serializers

from training.models import ModelVersion


class ModelVersionListSerializer(serializers.ModelSerializer):
    mape = serializers.SerializerMethodField()
    naive_mape = serializers.SerializerMethodField()

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
            "created_at",
            "promoted_at",
        ]

    def get_mape(self, obj) -> float | None:
        return (obj.metrics.get("model") or {}).get("mape")

    def get_naive_mape(self, obj) -> float | None:
        return (obj.metrics.get("seasonal_naive") or {}).get("mape")


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
            "promotion_note",
            "job",
        ]
