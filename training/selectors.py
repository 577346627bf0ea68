"""Reads of the model registry, always scoped to the caller's organisation for clients."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.selectors import require_organization_id
from errors import NotFound
from training.models import ModelVersion


def model_version_active_for_city(city) -> ModelVersion | None:
    """The city's active version (``city`` a City or its id)."""
    return ModelVersion.objects.filter(city=city, status=ModelVersion.Status.ACTIVE).first()


def model_versions_active_for_cities(city_ids) -> dict[int, ModelVersion]:
    """City id -> its active version, in one query (for batched inference)."""
    active = ModelVersion.objects.filter(
        city_id__in=set(city_ids), status=ModelVersion.Status.ACTIVE
    )
    return {mv.city_id: mv for mv in active}


def model_versions_for_user(user, *, city_id: int | None = None) -> QuerySet[ModelVersion]:
    versions = ModelVersion.objects.filter(
        city__organization_id=require_organization_id(user)
    ).select_related("city")
    return versions if city_id is None else versions.filter(city_id=city_id)


def model_version_get_for_user(user, model_id) -> ModelVersion:
    try:
        return model_versions_for_user(user).get(pk=int(model_id))
    except (ModelVersion.DoesNotExist, ValueError, TypeError):
        raise NotFound("No such model version.") from None


def model_versions_active_scores() -> list[dict]:
    """Every active model's city and version with its backtest MAPE and its live MAPE
    (issued forecasts against the actuals that arrived since: forecasts/live_accuracy.py;
    None until some arrived), for the metrics exporter."""
    rows = ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE).values(
        "version", "metrics", "live_metrics", "city__name", "city__organization__slug"
    )
    return [
        {
            "organization": row["city__organization__slug"],
            "city": row["city__name"],
            "version": row["version"],
            "backtest_mape": ((row["metrics"] or {}).get("model") or {}).get("mape"),
            "live_mape": (row["live_metrics"] or {}).get("mape"),
        }
        for row in rows
    ]
