"""Reads. Every query that serves a client goes through the organisation scope here."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
from django.db.models import QuerySet

import errors
from forecasts.models import City, ForecastRun, Job, Membership, Observation
from httpapi.params import is_database_id


def organization_id_for(user) -> int | None:
    """The organisation a person or an API key acts for (None: no organisation)."""
    if getattr(user, "organization_id", None):  # ApiKeyUser
        return user.organization_id
    if not getattr(user, "is_authenticated", False):
        return None
    membership = Membership.objects.filter(user_id=user.pk).only("organization_id").first()
    return membership.organization_id if membership else None


def require_organization_id(user) -> int:
    org_id = organization_id_for(user)
    if org_id is None:
        raise errors.PermissionDenied("Your account does not belong to an organisation.")
    return org_id


def user_is_org_admin(user) -> bool:
    if getattr(user, "api_key", None) is not None:
        return True  # keys are issued by organisation admins for machine clients
    return Membership.objects.filter(user_id=user.pk, role=Membership.Role.ADMIN).exists()


def cities_for_user(user) -> QuerySet[City]:
    return City.objects.filter(organization_id=require_organization_id(user))


def city_get_for_user(user, city_id) -> City:
    """The city if it belongs to the user's organisation; 404 otherwise."""
    text = str(city_id)
    if not is_database_id(text):
        raise errors.NotFound("No such city.")
    try:
        return cities_for_user(user).get(pk=int(text))
    except City.DoesNotExist:
        raise errors.NotFound("No such city.") from None


def jobs_for_user(user) -> QuerySet[Job]:
    return Job.objects.filter(organization_id=require_organization_id(user))


def forecast_runs_for_user(user) -> QuerySet[ForecastRun]:
    return ForecastRun.objects.filter(city__organization_id=require_organization_id(user))


def observations_for_city(
    city: City, start: datetime | None = None, end: datetime | None = None
) -> QuerySet[Observation]:
    qs = Observation.objects.filter(city=city)
    if start is not None:
        qs = qs.filter(timestamp__gte=start)
    if end is not None:
        qs = qs.filter(timestamp__lt=end)
    return qs.order_by("timestamp")


def observation_frame_for_city(
    city: City, start: datetime | None = None, end: datetime | None = None
) -> pd.DataFrame:
    """Observations as a UTC-indexed frame (demand_mw plus weather columns).

    ``end`` is exclusive: passing a forecast's start gives exactly what was
    known before it (the as-of rule).
    """
    columns = ["timestamp", "demand_mw", *Observation.WEATHER_FIELDS]
    rows = observations_for_city(city, start, end).values_list(*columns)
    frame = pd.DataFrame.from_records(list(rows), columns=columns)
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True)
    frame = frame.set_index("timestamp").sort_index()
    return frame.astype("float64")
