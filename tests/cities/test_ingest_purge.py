"""uploads_purge_orphans: stored uploads no pending ingest job will read are deleted."""

from __future__ import annotations

import os
import time
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from cities.tasks import ingest_observations
from cities.uploads import UPLOAD_DIR, uploads_purge_orphans
from jobs.models import Job
from jobs.services import job_cancel, job_fail

TWO_DAYS = 2 * 24 * 3600


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def upload(client, city, hour: int) -> Job:
    text = f"timestamp,demand_mw\n2014-07-01T{hour:02d}:00:00Z,5000\n"
    response = client.post(
        f"/api/v1/cities/{city.pk}/observations/", data=text, content_type="text/csv"
    )
    assert response.status_code == 202, response.json()
    return Job.objects.get(pk=response.json()["job"]["id"])


def age(name: str, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(default_storage.path(name), (then, then))


@pytest.mark.django_db
def test_only_old_uploads_of_finished_or_missing_jobs_are_deleted(owner_client, city):
    queued = upload(owner_client, city, 0)
    cancelled = upload(owner_client, city, 1)
    failed = upload(owner_client, city, 2)
    cancelled_today = upload(owner_client, city, 3)
    running = upload(owner_client, city, 4)
    assert job_cancel(cancelled) and job_cancel(cancelled_today)
    assert job_fail(failed, "test", "gave up")
    Job.objects.filter(pk=running.pk).update(state=Job.State.RUNNING)
    stray = default_storage.save(f"{UPLOAD_DIR}/no-such-job.csv.gz", ContentFile(b"x"))
    for job in (queued, cancelled, failed, running):
        age(job.params["upload"], TWO_DAYS)
    age(stray, TWO_DAYS)

    assert uploads_purge_orphans(older_than=timedelta(days=1)) == 3

    def kept(job) -> bool:
        return default_storage.exists(job.params["upload"])

    assert kept(queued) and kept(running) and kept(cancelled_today)
    assert not kept(cancelled) and not kept(failed)
    assert not default_storage.exists(stray)
    # The queued job still runs from its file.
    ingest_observations.apply(args=[str(queued.pk)])
    queued.refresh_from_db()
    assert queued.state == Job.State.SUCCEEDED, queued.error
    assert uploads_purge_orphans(older_than=timedelta(days=1)) == 0


@pytest.mark.django_db
def test_a_purged_job_row_leaves_an_orphan_that_is_deleted(owner_client, city):
    job = upload(owner_client, city, 0)
    name = job.params["upload"]
    age(name, TWO_DAYS)
    job.delete()

    assert uploads_purge_orphans(older_than=timedelta(days=1)) == 1
    assert not default_storage.exists(name)


@pytest.mark.django_db
def test_no_uploads_folder_purges_nothing():
    assert uploads_purge_orphans(older_than=timedelta(0)) == 0
