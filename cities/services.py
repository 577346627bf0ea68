"""Writes of the cities app: cities, and observations upserted all or nothing."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from django.db import IntegrityError, transaction
from django.db.models import Count, Max, Min
from django.utils import timezone

from audit.services import audit_record
from cities.ingest import VALUE_COLUMNS
from cities.models import City, Observation
from cities.signals import observations_stored
from errors import Conflict

UPSERT_BATCH_SIZE = 2000
OBSERVATION_SUMMARY_FIELDS = (
    "observation_count",
    "first_observation",
    "last_observation",
    "observations_changed_at",
)


def city_create(*, organization_id: int, **fields) -> City:
    """A new city of the organisation; a name it already uses is a Conflict."""
    try:
        with transaction.atomic():
            city = City.objects.create(organization_id=organization_id, **fields)
            audit_record("city.create", city)
            return city
    except IntegrityError:
        raise Conflict("Your organisation already has a city of that name.") from None


def observations_upsert(
    *, city: City, frame: pd.DataFrame, progress: Callable[[int], None] | None = None
) -> int:
    """Insert or update ``frame`` (UTC index, value columns) for ``city``; all or nothing.

    Keyed on (city, timestamp), so repeating an upload never duplicates. Only the
    cells that carry a value are written: a column absent from the file, or an empty
    cell, never erases a stored value (rows are grouped by which columns they carry,
    and each group updates only those columns). ``progress(n)`` is called after each
    batch of n rows. Returns the number of rows written.
    """
    unknown = sorted(set(frame.columns) - set(VALUE_COLUMNS))
    if unknown:
        raise ValueError(f"Not observation columns: {unknown}")
    if frame.empty:
        return 0
    columns = [name for name in VALUE_COLUMNS if name in frame.columns]
    values = frame[columns].to_numpy(dtype="float64")
    present = ~np.isnan(values)
    if not present.any():
        return 0  # no value to write: the city's data and its summary stay as they are
    timestamps = pd.DatetimeIndex(frame.index).tz_convert("UTC").to_pydatetime()
    patterns, group_of_row = np.unique(present, axis=0, return_inverse=True)
    written = 0
    with transaction.atomic():
        for group, pattern in enumerate(patterns):
            carried = [name for name, has in zip(columns, pattern, strict=True) if has]
            if not carried:
                continue  # a row without any value has nothing to write
            row_numbers = np.flatnonzero(group_of_row.ravel() == group)
            for start in range(0, len(row_numbers), UPSERT_BATCH_SIZE):
                batch = row_numbers[start : start + UPSERT_BATCH_SIZE]
                objects = [
                    Observation(
                        city=city,
                        timestamp=timestamps[i],
                        **{
                            name: float(values[i, j])
                            for j, name in enumerate(columns)
                            if pattern[j]
                        },
                    )
                    for i in batch
                ]
                Observation.objects.bulk_create(
                    objects,
                    update_conflicts=True,
                    unique_fields=["city", "timestamp"],
                    update_fields=[*carried, "updated_at"],
                )
                written += len(objects)
                if progress is not None:
                    progress(len(objects))
        city_observation_summary_refresh(city=city)
        city_id = city.pk
        transaction.on_commit(lambda: observations_stored.send(sender=City, city_id=city_id))
    return written


def city_observation_summary_refresh(*, city: City) -> City:
    """Recount ``city``'s observations into its summary fields (what GET /cities/ shows).

    Call it inside the transaction that changed the rows; observations_upsert does.
    The city row is locked before counting, so of two transactions writing the same
    city the one that commits last counts after the other committed (a new snapshot
    per statement under READ COMMITTED) and its summary includes both. NO KEY
    UPDATE is the weakest lock that serialises the counts: it leaves the city free for
    the KEY SHARE locks other transactions' foreign-key checks take (forecast rows,
    jobs, the uploads' own rows at commit).
    """
    City.objects.select_for_update(no_key=True).filter(pk=city.pk).values_list("pk").first()
    summary = Observation.objects.filter(city=city).aggregate(
        count=Count("pk"), first=Min("timestamp"), last=Max("timestamp")
    )
    city.observation_count = summary["count"]
    city.first_observation = summary["first"]
    city.last_observation = summary["last"]
    city.observations_changed_at = timezone.now()
    city.save(update_fields=[*OBSERVATION_SUMMARY_FIELDS])
    return city
