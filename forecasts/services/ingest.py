"""Writes of the ingestion flow: accept an upload, upsert observations, run the ingest job.

The API parses and checks the file synchronously (so a bad file is a 400 at once),
then stores the *normalised* rows as a gzipped CSV in Django's default storage
(``uploads/<job id>.csv.gz``) for the worker. A file rather than the job's params:
an upload may be tens of megabytes, which does not belong in a JSON column that
every job poll reads; a file in default storage also works across hosts once
storage is shared (S3, a volume). The worker reads the file, upserts in one
transaction, deletes the file and stores the data-quality report as the job result.
Files of jobs that end otherwise (cancelled, failed) are removed by
``uploads_purge_orphans``, which the nightly cleanup calls.
"""

from __future__ import annotations

import gzip
import io
from collections.abc import Callable
from datetime import timedelta

import numpy as np
import pandas as pd
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Count, Max, Min
from django.utils import timezone

import errors
from forecasts.ingest import VALUE_COLUMNS, observations_file_parse
from forecasts.models import City, Job, Observation
from forecasts.services.jobs import job_create, job_enqueue, job_progress

UPSERT_BATCH_SIZE = 2000
OBSERVATION_SUMMARY_FIELDS = (
    "observation_count",
    "first_observation",
    "last_observation",
    "observations_changed_at",
)
UPLOAD_DIR = "uploads"


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


def upload_store(job: Job, frame: pd.DataFrame) -> str:
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb") as stream:
        stream.write(frame.to_csv().encode())
    return default_storage.save(f"{UPLOAD_DIR}/{job.pk}.csv.gz", ContentFile(buffer.getvalue()))


def upload_load(name: str) -> pd.DataFrame:
    with default_storage.open(name, "rb") as stored:
        frame = pd.read_csv(io.BytesIO(gzip.decompress(stored.read())), index_col="timestamp")
    frame.index = pd.to_datetime(frame.index, utc=True)
    return frame.astype("float64")


def upload_discard(name: str | None) -> None:
    if name and default_storage.exists(name):
        default_storage.delete(name)


def uploads_purge_orphans(*, older_than: timedelta) -> int:
    """Delete stored uploads no queued or running ingest job will read; returns how many.

    A job that is cancelled, or fails, before its worker deletes the file leaves it
    behind, as does a job row purged meanwhile. ``older_than`` spares files whose job
    row is not committed yet (the file is saved inside the job's transaction).
    """
    try:
        _, names = default_storage.listdir(UPLOAD_DIR)
    except FileNotFoundError:
        return 0
    pending = Job.objects.filter(
        kind=Job.Kind.INGEST, state__in=[Job.State.QUEUED, Job.State.RUNNING]
    ).values_list("params", flat=True)
    still_needed = {params.get("upload") for params in pending if isinstance(params, dict)}
    cutoff = timezone.now() - older_than
    deleted = 0
    for file_name in names:
        name = f"{UPLOAD_DIR}/{file_name}"
        if name in still_needed:
            continue
        try:
            if default_storage.get_modified_time(name) >= cutoff:
                continue
            default_storage.delete(name)
        except FileNotFoundError:
            continue  # deleted meanwhile by its worker
        deleted += 1
    return deleted


def observations_upload_accept(
    *, city: City, user, data: bytes | list, content_type: str | None, idempotency_key: str = ""
) -> tuple[Job, bool]:
    """Check an upload now, queue its upsert; returns (job, created).

    Raises InvalidObservationFile / ObservationFileTooLarge before anything is stored.
    Identical contents are deliberately NOT deduplicated by a request key: an
    upsert's effect depends on what is stored meanwhile (re-uploading yesterday's
    file to undo a correction must run again). Retries use ``Idempotency-Key``.
    """
    from forecasts.ingest_tasks import ingest_observations  # the task imports this module

    frame, report = observations_file_parse(data, content_type=content_type, city=city)
    stored_name = None
    try:
        with transaction.atomic():
            job, created = job_create(
                organization=city.organization,
                user=user,
                kind=Job.Kind.INGEST,
                params={"city_id": city.pk, "report": report},
                idempotency_key=idempotency_key,
            )
            if created:
                stored_name = upload_store(job, frame)
                job.params = {**job.params, "upload": stored_name}
                job.save(update_fields=["params"])
                job_enqueue(job, ingest_observations)
    except Exception:
        # Rolled back, or (BrokerUnavailable) stored but marked failed: the file is of no use.
        upload_discard(stored_name)
        raise
    return job, created


def observations_ingest_job_execute(job: Job) -> dict:
    """The worker's part of an upload: upsert the stored rows, return the report."""
    city = City.objects.filter(
        pk=job.params.get("city_id"), organization_id=job.organization_id
    ).first()
    if city is None:
        raise errors.NotFound("The city of this upload no longer exists.", code="city_not_found")
    name = job.params.get("upload")
    try:
        frame = upload_load(name)
    except (FileNotFoundError, TypeError, ValueError):
        raise errors.Unprocessable(
            "The uploaded rows are no longer stored; upload again.", code="upload_missing"
        ) from None
    job_progress(job, 10)
    written = observations_upsert(city=city, frame=frame)
    upload_discard(name)
    return {"report": {**job.params.get("report", {}), "rows_written": written}}
