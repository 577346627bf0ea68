"""POST/GET /api/v1/cities/{id}/observations/ and the ingest job behind the upload."""

from __future__ import annotations

import json

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile

from cities.models import Observation
from cities.tasks import ingest_observations
from jobs.models import Job
from tests.factories import load_observations


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def url(city) -> str:
    return f"/api/v1/cities/{city.pk}/observations/"


def week_csv(victoria, start="2014-07-01", end="2014-07-07") -> tuple[str, int]:
    week = victoria.loc[start:end]
    return week.to_csv(), len(week)


def run_job(job_id) -> Job:
    """Run the real task body in-process (no broker), then reload the job."""
    ingest_observations.apply(args=[str(job_id)])
    return Job.objects.get(pk=job_id)


@pytest.mark.django_db
def test_owner_upload_is_accepted_then_the_worker_upserts_and_reports(owner_client, city, victoria):
    text, rows = week_csv(victoria)
    upload = SimpleUploadedFile("week.csv", text.encode(), content_type="text/csv")

    response = owner_client.post(url(city), {"file": upload}, format="multipart")

    assert response.status_code == 202, response.json()
    job = response.json()["job"]
    assert response["Location"] == f"/api/v1/jobs/{job['id']}/"
    assert (job["kind"], job["state"]) == ("ingest", "queued")
    assert not Observation.objects.exists()  # nothing is written before the worker runs
    stored_upload = Job.objects.get(pk=job["id"]).params["upload"]
    assert default_storage.exists(stored_upload)

    done = run_job(job["id"])

    assert done.state == Job.State.SUCCEEDED, done.error
    report = done.result["report"]
    assert report["rows_accepted"] == report["rows_written"] == rows
    assert report["rejected"] == [] and report["gaps"]["count"] == 0
    assert Observation.objects.filter(city=city).count() == rows
    assert not default_storage.exists(stored_upload)


@pytest.mark.django_db
def test_rejected_rows_are_reported_with_lines_and_the_rest_written(owner_client, city):
    text = (
        "timestamp,demand_mw,temperature_c\n"
        "2014-07-01T00:00:00Z,5000,8\n"
        "2014-07-01T00:30:00Z,-12,8\n"
        "2014-07-01T01:00:00Z,5100,8\n"
    )
    response = owner_client.post(url(city), data=text, content_type="text/csv")
    assert response.status_code == 202

    done = run_job(response.json()["job"]["id"])

    assert done.result["report"]["rejected"] == [{"line": 3, "reason": "negative demand_mw -12.0"}]
    assert sorted(Observation.objects.values_list("demand_mw", flat=True)) == [5000, 5100]


@pytest.mark.django_db
def test_json_list_body_upload(owner_client, city, victoria):
    day = victoria.loc["2014-07-01"]
    items = [{"timestamp": ts.isoformat(), "demand_mw": r.demand_mw} for ts, r in day.iterrows()]

    response = owner_client.post(url(city), data=json.dumps(items), content_type="application/json")

    assert response.status_code == 202
    done = run_job(response.json()["job"]["id"])
    assert done.result["report"]["format"] == "json"
    assert Observation.objects.filter(city=city, demand_mw__isnull=False).count() == len(day)
    assert not Observation.objects.filter(temperature_c__isnull=False).exists()


@pytest.mark.django_db
def test_a_bad_file_fails_its_job_with_line_numbers_and_nothing_is_written(owner_client, city):
    text = (
        "timestamp,demand_mw\n"
        "2014-07-01T00:00:00Z,5000\n"
        "2014-07-01T00:30:00Z,5000\n"
        "2014-07-01T01:00:00Z,5000\n"
        "half past one,5000\n"
    )
    upload = SimpleUploadedFile("bad.csv", text.encode(), content_type="text/csv")

    response = owner_client.post(url(city), {"file": upload}, format="multipart")

    # Parsing runs in the worker (issue 10): accepted at once, then the job fails with
    # the code and details that were the 400's.
    assert response.status_code == 202
    stored_upload = Job.objects.get().params["upload"]
    job = run_job(response.json()["job"]["id"])
    assert job.state == Job.State.FAILED
    assert job.error["code"] == "invalid_file"
    assert [e["line"] for e in job.error["details"]["errors"]] == [5]
    assert not Observation.objects.exists()
    assert not default_storage.exists(stored_upload)


@pytest.mark.django_db
def test_what_needs_no_parsing_is_still_refused_at_once(owner_client, city):
    empty = owner_client.post(url(city), data="  \n", content_type="text/csv")
    assert empty.status_code == 400 and empty.json()["error"]["code"] == "invalid_file"
    latin1 = owner_client.post(url(city), data="timestamp,demand_mw\n\xe9".encode("latin-1"),
                               content_type="text/csv")  # fmt: skip
    assert latin1.status_code == 400 and "UTF-8" in latin1.json()["error"]["message"]
    assert not Job.objects.exists()


@pytest.mark.django_db
def test_a_large_valid_file_is_answered_before_it_is_parsed(owner_client, city, victoria):
    """Issue 10: a 19 MiB CSV was parsed inside the request for 20 s. The answer now
    comes before parsing: nothing is read into rows until the worker runs."""
    text = victoria.to_csv() * 1  # a year, 17 520 rows
    response = owner_client.post(url(city), data=text, content_type="text/csv")
    assert response.status_code == 202
    job = Job.objects.get()
    assert job.params["characters"] == len(text) and "report" not in job.params
    assert not Observation.objects.exists()
    done = run_job(job.pk)
    assert done.state == Job.State.SUCCEEDED and done.result["report"]["rows_written"] == len(
        victoria
    )


@pytest.mark.django_db
def test_upload_limits_and_media_types(owner_client, city, settings):
    settings.UPLOAD_MAX_BYTES = 200
    big = "timestamp,demand_mw\n" + "2014-07-01T00:00:00Z,5000\n" * 20
    response = owner_client.post(url(city), data=big, content_type="text/csv")
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"

    response = owner_client.post(url(city), data="<xml/>", content_type="application/xml")
    assert response.status_code == 415

    response = owner_client.post(url(city), {"other": "x"}, format="multipart")
    assert response.status_code == 400
    assert "'file'" in response.json()["error"]["message"]
    assert not Job.objects.exists()


@pytest.mark.django_db
def test_only_org_admins_may_upload(teammate_client, city):
    response = teammate_client.post(
        url(city), data="timestamp,demand_mw\n2014-07-01T00:00Z,1\n", content_type="text/csv"
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert not Job.objects.exists()


@pytest.mark.django_db
def test_another_organisations_city_is_a_404(stranger_client, city):
    text = "timestamp,demand_mw\n2014-07-01T00:00Z,1\n"
    assert stranger_client.post(url(city), data=text, content_type="text/csv").status_code == 404
    assert stranger_client.get(url(city)).status_code == 404
    assert not Job.objects.exists()


@pytest.mark.django_db
def test_list_observations_between_start_and_end(teammate_client, city, victoria):
    load_observations(city, victoria.loc["2014-07-01":"2014-07-03"])

    response = teammate_client.get(
        url(city), {"start": "2014-07-02T00:00:00+10:00", "end": "2014-07-02T12:00:00+10:00"}
    )

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 24
    first = body["results"][0]
    assert first["timestamp"] == "2014-07-01T14:00:00Z"
    assert first["demand_mw"] == victoria.loc["2014-07-01T14:00Z", "demand_mw"]
    assert set(first) == {
        "timestamp",
        "demand_mw",
        "temperature_c",
        "humidity_pct",
        "wind_speed_ms",
        "irradiance_wm2",
    }
    # Naive bounds are the city's local time: the same 12 hours.
    naive = teammate_client.get(url(city), {"start": "2014-07-02", "end": "2014-07-02T12:00"})
    assert naive.json()["count"] == 24


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query",
    [{"start": "yesterday"}, {"end": "2014-13-01"}, {"start": "2014-07-02", "end": "2014-07-01"}],
)
def test_bad_start_or_end_is_a_400(owner_client, city, query):
    response = owner_client.get(url(city), query)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"


@pytest.mark.django_db
def test_a_retried_upload_with_the_same_idempotency_key_gets_the_same_job(owner_client, city):
    text = "timestamp,demand_mw\n2014-07-01T00:00:00Z,5000\n"
    headers = {"Idempotency-Key": "upload-2014-07-01"}

    first = owner_client.post(url(city), data=text, content_type="text/csv", headers=headers)
    second = owner_client.post(url(city), data=text, content_type="text/csv", headers=headers)

    assert first.status_code == second.status_code == 202
    assert first.json()["job"]["id"] == second.json()["job"]["id"]
    assert Job.objects.count() == 1
