"""Reads of cities and observations; every client's read goes through the organisation."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
from django.db.models import Q, QuerySet

from accounts.selectors import require_organization_id
from cities.models import City, Observation
from errors import Conflict, NotFound
from httpapi.params import is_database_id


def cities_for_user(user) -> QuerySet[City]:
    return City.objects.filter(organization_id=require_organization_id(user))


def city_get_for_user(user, city_id) -> City:
    """The city if it belongs to the user's organisation; 404 otherwise."""
    text = str(city_id)
    if not is_database_id(text):
        raise NotFound("No such city.")
    try:
        return cities_for_user(user).get(pk=int(text))
    except City.DoesNotExist:
        raise NotFound("No such city.") from None


def city_for_operator(ref: str, org_slug: str | None = None) -> City:
    """The city an operator names on the command line: by id or (case-insensitive) name,
    in any organisation unless ``org_slug`` narrows it; a name several organisations
    use is a Conflict asking for the organisation."""
    cities = City.objects.select_related("organization")
    if org_slug:
        cities = cities.filter(organization__slug=org_slug)
    matches = list(cities.filter(pk=int(ref))) if is_database_id(ref) else []
    if not matches:
        matches = list(cities.filter(name__iexact=ref))
    if not matches:
        where = f" in organisation '{org_slug}'" if org_slug else ""
        raise NotFound(f"No city '{ref}'{where}.")
    if len(matches) > 1:
        orgs = ", ".join(city.organization.slug for city in matches)
        raise Conflict(f"Several cities are called '{ref}' ({orgs}); pass --org <slug>.")
    return matches[0]


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


def observation_frames_for_windows(
    windows: list[tuple[int, datetime, datetime]],
) -> dict[int, pd.DataFrame]:
    """City id -> its observations in the union of its ``(city_id, start, end)`` windows,
    as observation_frame_for_city frames, in one query (batched inference: slice each
    request's window out of its city's frame)."""
    merged: dict[int, list[list]] = {}
    for city_id, start, end in sorted(windows, key=lambda w: (w[0], w[1])):
        spans = merged.setdefault(city_id, [])
        if spans and start <= spans[-1][1]:
            spans[-1][1] = max(spans[-1][1], end)
        else:
            spans.append([start, end])
    columns = ["timestamp", "demand_mw", *Observation.WEATHER_FIELDS]
    if not merged:
        return {}
    where = Q()
    for city_id, spans in merged.items():
        for start, end in spans:
            where |= Q(city_id=city_id, timestamp__gte=start, timestamp__lt=end)
    rows = Observation.objects.filter(where).values_list("city_id", *columns)
    frame = pd.DataFrame.from_records(list(rows), columns=["city_id", *columns])
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True)
    frames = {}
    for city_id in merged:
        part = frame[frame["city_id"] == city_id].drop(columns="city_id")
        part = part.set_index("timestamp").sort_index()
        frames[city_id] = part.astype("float64")
    return frames
