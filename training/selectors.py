"""Reads of the model registry, always scoped to the caller's organisation for clients."""

from __future__ import annotations

from django.db.models import QuerySet

from forecasts.selectors import require_organization_id
from training.models import ModelVersion


def model_version_active_for_city(city) -> ModelVersion | None:
    return ModelVersion.objects.filter(city=city, status=ModelVersion.Status.ACTIVE).first()


def model_versions_active_for_cities(city_ids) -> dict[int, ModelVersion]:
    """City id -> its active version, in one query (for batched inference)."""
    active = ModelVersion.objects.filter(
        city_id__in=set(city_ids), status=ModelVersion.Status.ACTIVE
    )
    return {mv.city_id: mv for mv in active}


def model_versions_for_user(user) -> QuerySet[ModelVersion]:
    return ModelVersion.objects.filter(
        city__organization_id=require_organization_id(user)
    ).select_related("city")
