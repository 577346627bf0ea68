"""The upload flow: accept an observations file, queue its ingest, run the ingest job.

The API checks only what needs no parsing (size 413, type 415, a gzip that unpacks,
UTF-8, not empty: 400), stores the file's text gzipped in Django's default storage
(``uploads/<job id>.txt.gz``) and answers 202 at once. The worker parses it, runs the
data-quality checks and upserts all or nothing (``observations_ingest_job_execute``): a
file that cannot be imported fails the job with the same ``invalid_file`` code and
``details.errors`` a 400 used to carry (docs/api.md, Observations). Parsing a 20 MiB
file takes tens of seconds: inside a web request it held a server thread that long.

A file rather than the job's params: an upload may be tens of megabytes, which does not
belong in a JSON column that every job poll reads; a file in default storage also works
across hosts once storage is shared (S3, a volume). The worker deletes the file once the
job is over; files of jobs that end otherwise (cancelled, failed) are removed by
``uploads_purge_orphans``, which a nightly beat task calls (cities/tasks.py).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
from datetime import timedelta

import pandas as pd
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

import errors
from audit.services import audit_record
from cities.ingest import (
    InvalidObservationFile,
    json_upload_shape_check,
    looks_like_json,
    observations_file_parse,
    upload_text_read,
)
from cities.models import City
from cities.services import observations_upsert
from jobs.models import Job
from jobs.services import (
    job_create,
    job_enqueue,
    job_progress,
    job_result_write,
    job_succeed,
)

UPLOAD_DIR = "uploads"


def upload_store(job: Job, text: str) -> str:
    return default_storage.save(
        f"{UPLOAD_DIR}/{job.pk}.txt.gz", ContentFile(gzip.compress(text.encode(), 6))
    )


def upload_text_load(name: str) -> str:
    with default_storage.open(name, "rb") as stored:
        return gzip.decompress(stored.read()).decode()


def upload_frame_load(name: str) -> pd.DataFrame:
    """The normalised rows an upload of the release before stored (parsed in the request)."""
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
    """Store an upload and queue its ingest; returns (job, created).

    Raises InvalidObservationFile / ObservationFileTooLarge for what can be seen without
    parsing, before anything is stored. Identical contents are deliberately NOT
    deduplicated by a request key: an upsert's effect depends on what is stored
    meanwhile (re-uploading yesterday's file to undo a correction must run again).
    Retries use ``Idempotency-Key`` (same city and same bytes: the same job).
    """
    if isinstance(data, list):
        text = json.dumps(data)
        content_type = "application/json"
    else:
        text = upload_text_read(data, max_bytes=settings.UPLOAD_MAX_BYTES)
        if looks_like_json(text, content_type):
            json_upload_shape_check(text)
    params = {
        "city_id": city.pk,
        "content_type": content_type or "",
        "sha256": hashlib.sha256(text.encode()).hexdigest(),
        "characters": len(text),
    }
    stored_name = None
    try:
        with transaction.atomic():
            job, created = job_create(
                organization=city.organization,
                user=user,
                kind=Job.Kind.INGEST,
                params=params,
                idempotency_key=idempotency_key,
            )
            if created:
                stored_name = upload_store(job, text)
                job.params = {**job.params, "upload": stored_name}
                job.save(update_fields=["params"])
                audit_record(
                    "observations.upload",
                    city,
                    user=user,
                    details={"job": str(job.pk), "characters": params["characters"]},
                )
                job_enqueue(job)
    except Exception:
        # Rolled back, or (BrokerUnavailable) stored but marked failed: the file is of no use.
        upload_discard(stored_name)
        raise
    return job, created


def observations_ingest_job_execute(job: Job) -> dict:
    """The worker's part of an upload: parse and check the stored file, upsert its rows
    all or nothing, return the data-quality report. A file that cannot be imported
    raises InvalidObservationFile: the job fails with ``invalid_file`` and its errors."""
    city = City.objects.filter(
        pk=job.params.get("city_id"), organization_id=job.organization_id
    ).first()
    if city is None:
        raise errors.NotFound("The city of this upload no longer exists.", code="city_not_found")
    name = job.params.get("upload")
    try:
        if "report" in job.params:  # accepted by the release that parsed in the request
            frame, report = upload_frame_load(name), job.params["report"]
        else:
            text = upload_text_load(name)
    except (FileNotFoundError, TypeError, ValueError, OSError):
        raise errors.Unprocessable(
            "The uploaded file is no longer stored; upload again.", code="upload_missing"
        ) from None
    job_progress(job, 5)
    if "report" not in job.params:
        try:
            frame, report = observations_file_parse(
                text.encode(), content_type=job.params.get("content_type"), city=city
            )
        except InvalidObservationFile:
            upload_discard(name)
            raise
    job_progress(job, 50)
    # The rows and the job's success commit together, only while this worker holds it.
    with job_result_write(job):
        written = observations_upsert(city=city, frame=frame)
        result = {"report": {**report, "rows_written": written}}
        job_succeed(job, result)
    upload_discard(name)
    return result
