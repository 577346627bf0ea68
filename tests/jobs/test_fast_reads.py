"""The reads clients repeat most, served from cached bytes (issue 11, docs/api.md
"Conditional requests" and "Waiting for a job"): tenancy on a warm cache, ETag/304,
a job's cached answer replaced when it changes, long polls woken by the job services,
and revocation honoured through the principal cache. Real PostgreSQL and Redis, real
tokens (not force_authenticate, which would skip the authentication being tested)."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pandas as pd
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import ApiKey, Membership
from accounts.services import api_key_issue
from accounts.tokens import PasswordStampedTokenSerializer
from forecasts.models import Forecast, ForecastRun
from jobs.models import Job
from jobs.serializers import JobSerializer
from jobs.services import job_claim, job_progress, job_succeed

pytestmark = pytest.mark.needs_server


def jwt_client(user) -> APIClient:
    client = APIClient()
    token = PasswordStampedTokenSerializer.get_token(user).access_token
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def key_client(org) -> tuple[APIClient, ApiKey]:
    key = ApiKey(organization=org, name="machine")
    raw = api_key_issue(key)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    return client, key


def make_run(city) -> ForecastRun:
    start = pd.Timestamp("2014-12-30 13:00", tz="UTC")
    run = ForecastRun.objects.create(
        city=city, method="test", start=start, horizon_hours=2, quantiles=[0.05, 0.5, 0.95]
    )
    Forecast.objects.bulk_create(
        Forecast(
            run=run, city=city, timestamp=start + timedelta(minutes=30 * i),
            demand=5000.5 + i, confidence_lower=4700.0, confidence_upper=5300.0,
        )
        for i in range(4)
    )  # fmt: skip
    return run


def make_job(org, **fields) -> Job:
    return Job.objects.create(organization=org, kind=Job.Kind.FORECAST, params={}, **fields)


def finished_job(org) -> Job:
    now = timezone.now()
    return make_job(
        org, state=Job.State.SUCCEEDED, progress=100, attempts=1, started_at=now,
        finished_at=now, result={"forecast_run": 1},
    )  # fmt: skip


@pytest.fixture
def owner_jwt(owner):
    return jwt_client(owner)


@pytest.fixture
def teammate_jwt(teammate):
    return jwt_client(teammate)


@pytest.fixture
def stranger_jwt(stranger):
    return jwt_client(stranger)


def warm_get(client, path, **extra):
    """A GET whose queries are counted."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path, **extra)
    return response, len(queries)


# --- tenancy on every fast path, cold and warm ----------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("what", ["run", "job"])
def test_a_stranger_gets_404_cold_and_warm_and_the_organisation_gets_the_same_bytes(
    what, org, other_org, city, owner_jwt, teammate_jwt, stranger_jwt
):
    path = (
        f"/api/v1/forecast-runs/{make_run(city).pk}/"
        if what == "run"
        else f"/api/v1/jobs/{finished_job(org).pk}/"
    )
    assert stranger_jwt.get(path).status_code == 404  # cold cache
    stranger_key, _ = key_client(other_org)
    assert stranger_key.get(path).status_code == 404
    first = owner_jwt.get(path)  # renders and caches
    assert first.status_code == 200
    owner_jwt.get(path)  # the principal is cached too now
    warm, queries = warm_get(owner_jwt, path)
    assert warm.status_code == 200 and queries == 0
    assert warm.content == first.content and warm["ETag"] == first["ETag"]
    teammate = teammate_jwt.get(path)
    assert teammate.status_code == 200 and teammate.content == first.content
    for stranger in (stranger_jwt, stranger_key):
        stranger.get(path)  # its principal warm as well
        refused, queries = warm_get(stranger, path)
        assert refused.status_code == 404  # the cached entry names its organisation
        assert refused.json()["error"]["code"] == "not_found"
        assert queries == 0
        # Knowing the ETag does not help: still 404, never 304.
        assert stranger.get(path, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 404


@pytest.mark.django_db
def test_the_cached_bytes_are_the_contract_fields_of_the_job(org, owner_jwt):
    job = finished_job(org)
    path = f"/api/v1/jobs/{job.pk}/"
    owner_jwt.get(path)
    cached = owner_jwt.get(path)
    assert cached["Content-Type"] == "application/json"
    assert cached.json() == JobSerializer(Job.objects.get(pk=job.pk)).data
    assert "Retry-After" not in cached  # finished: nothing to come back for


@pytest.mark.django_db
def test_a_membership_moved_to_another_organisation_loses_access_at_once(
    org, other_org, owner, owner_jwt
):
    path = f"/api/v1/jobs/{finished_job(org).pk}/"
    assert owner_jwt.get(path).status_code == 200
    membership = Membership.objects.get(user=owner)
    membership.organization = other_org
    membership.save()
    assert owner_jwt.get(path).status_code == 404


# --- ETag and If-None-Match ------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("what", ["run", "job"])
def test_if_none_match_with_the_current_etag_is_a_304(what, org, city, owner_jwt):
    path = (
        f"/api/v1/forecast-runs/{make_run(city).pk}/"
        if what == "run"
        else f"/api/v1/jobs/{finished_job(org).pk}/"
    )
    first = owner_jwt.get(path)
    etag = first["ETag"]
    assert etag.startswith('"') and etag.endswith('"') and not etag.startswith("W/")
    for offered in (etag, f'"other", {etag}', f"W/{etag}", "*"):
        again = owner_jwt.get(path, HTTP_IF_NONE_MATCH=offered)
        assert again.status_code == 304, offered
        assert again.content == b"" and again["ETag"] == etag
    assert owner_jwt.get(path, HTTP_IF_NONE_MATCH='"stale"').status_code == 200


@pytest.mark.django_db(transaction=True)
def test_a_job_that_changes_state_gets_a_new_etag_and_body(org, owner_jwt):
    job = make_job(org)
    path = f"/api/v1/jobs/{job.pk}/"
    queued = owner_jwt.get(path)
    assert queued.json()["state"] == "queued" and queued["Retry-After"] == "1"
    claimed = job_claim(job.pk)
    running = owner_jwt.get(path, HTTP_IF_NONE_MATCH=queued["ETag"])
    assert running.status_code == 200  # the claim replaced the cached answer
    assert running.json()["state"] == "running" and running["ETag"] != queued["ETag"]
    job_progress(claimed, 40)
    progressed = owner_jwt.get(path)
    assert progressed.json()["progress"] == 40 and progressed["ETag"] != running["ETag"]
    job_succeed(claimed, {"forecast_run": 7})
    done, queries = warm_get(owner_jwt, path, HTTP_IF_NONE_MATCH=progressed["ETag"])
    assert done.status_code == 200 and done.json()["state"] == "succeeded"
    assert done.json()["result"] == {"forecast_run": 7}
    assert "Retry-After" not in done
    assert queries == 0  # the service stored the finished answer: no read renders it


@pytest.mark.django_db
def test_an_unfinished_job_poll_costs_no_query_and_says_when_to_come_back(org, owner_jwt):
    now = timezone.now()
    job = make_job(
        org, state=Job.State.RUNNING, attempts=1, started_at=now,
        lease_expires_at=now + timedelta(minutes=5),
    )  # fmt: skip
    path = f"/api/v1/jobs/{job.pk}/"
    owner_jwt.get(path)
    polled, queries = warm_get(owner_jwt, path)
    assert polled.status_code == 200 and queries == 0
    assert polled.json()["state"] == "running"
    assert polled["Retry-After"] == "1"


# --- long polls ------------------------------------------------------------------------


def finish_later(job_id, delay: float) -> threading.Thread:
    """Claim and finish the job through the job services from another thread, as a
    worker would, ``delay`` seconds from now."""

    def work():
        try:
            time.sleep(delay)
            job_succeed(job_claim(job_id), {"forecast_run": 3})
        finally:
            connection.close()

    thread = threading.Thread(target=work)
    thread.start()
    return thread


@pytest.mark.django_db(transaction=True)
def test_a_long_poll_answers_as_soon_as_the_job_finishes(org, owner_jwt):
    job = make_job(org)
    path = f"/api/v1/jobs/{job.pk}/"
    owner_jwt.get(path)  # the queued answer is cached: the wait must not keep it
    thread = finish_later(job.pk, 0.6)
    began = time.monotonic()
    answered = owner_jwt.get(path, {"wait": 20})
    took = time.monotonic() - began
    thread.join()
    assert answered.status_code == 200
    assert answered.json()["state"] == "succeeded"
    assert answered.json()["result"] == {"forecast_run": 3}
    assert "Retry-After" not in answered
    assert 0.5 < took < 5, took  # woken by the finish, not by the 20 s bound


@pytest.mark.django_db(transaction=True)
def test_a_long_poll_on_a_job_that_does_not_finish_answers_after_wait_seconds(
    org, owner_jwt, stranger_jwt
):
    job = make_job(org)
    path = f"/api/v1/jobs/{job.pk}/"
    began = time.monotonic()
    answered = owner_jwt.get(path, {"wait": 1})
    took = time.monotonic() - began
    assert answered.status_code == 200 and answered.json()["state"] == "queued"
    assert answered["Retry-After"] == "1"
    assert 0.9 < took < 4, took
    began = time.monotonic()
    assert stranger_jwt.get(path, {"wait": 5}).status_code == 404
    assert time.monotonic() - began < 2  # a stranger is refused before any wait
    finished = finished_job(org)
    began = time.monotonic()
    at_once = owner_jwt.get(f"/api/v1/jobs/{finished.pk}/", {"wait": 10})
    assert at_once.status_code == 200 and time.monotonic() - began < 2


@pytest.mark.django_db
@pytest.mark.parametrize("wait", ["-1", "abc", "31", "1.5", "", "²"])
def test_wait_out_of_bounds_is_a_400_in_the_envelope(wait, org, owner_jwt):
    job = make_job(org)
    refused = owner_jwt.get(f"/api/v1/jobs/{job.pk}/", {"wait": wait})
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert error["code"] == "invalid" and "wait" in error["message"]
    assert error["details"]["field"] == "wait"


@pytest.mark.django_db
def test_wait_zero_answers_at_once(org, owner_jwt):
    job = make_job(org)
    answered = owner_jwt.get(f"/api/v1/jobs/{job.pk}/", {"wait": 0})
    assert answered.status_code == 200 and answered["Retry-After"] == "1"


# --- revocation through the principal cache --------------------------------------------


@pytest.mark.django_db
def test_a_revoked_or_deleted_api_key_is_refused_even_with_a_warm_principal(org):
    path = f"/api/v1/jobs/{finished_job(org).pk}/"
    client, key = key_client(org)
    assert client.get(path).status_code == 200
    warm, queries = warm_get(client, path)
    assert warm.status_code == 200 and queries == 0  # the key came from the cache
    key.revoked = True
    key.save()
    assert client.get(path).status_code == 401
    other, other_key = key_client(org)
    assert other.get(path).status_code == 200
    other_key.delete()
    assert other.get(path).status_code == 401


@pytest.mark.django_db
def test_a_changed_password_or_a_deactivated_user_is_refused_with_a_warm_principal(
    org, owner, teammate, owner_jwt, teammate_jwt
):
    path = f"/api/v1/jobs/{finished_job(org).pk}/"
    for client in (owner_jwt, teammate_jwt):
        assert client.get(path).status_code == 200
        assert warm_get(client, path)[1] == 0
    owner.set_password("a-new-long-password")
    owner.save()
    assert owner_jwt.get(path).status_code == 401
    assert jwt_client(owner).get(path).status_code == 200  # a token of the new password
    teammate.is_active = False
    teammate.save()
    assert teammate_jwt.get(path).status_code == 401


# --- a cached principal still is the whole user where a write needs it ----------------


@pytest.mark.django_db
def test_writes_by_a_cached_principal_record_the_real_user(org, owner, city, owner_jwt):
    from audit.models import AuditRecord

    created = owner_jwt.post(
        "/api/v1/cities/",
        {"name": "Sydney", "country": "AU", "timezone": "Australia/Sydney",
         "latitude": -33.87, "longitude": 151.21, "resolution_minutes": 30},
        format="json",
    )  # fmt: skip
    assert created.status_code == 201, created.content
    record = AuditRecord.objects.get(action="city.create")
    assert record.user_id == owner.pk and record.actor == "user:owner"
    accepted = owner_jwt.post(
        "/api/v1/forecasts/",
        {"city": city.pk, "start": "2014-12-25T00:00:00+11:00", "horizon_hours": 24},
        format="json",
    )
    assert accepted.status_code == 202, accepted.content
    job = Job.objects.get(pk=accepted.json()["job"]["id"])
    assert job.user_id == owner.pk and job.organization_id == org.pk


@pytest.mark.django_db(transaction=True)
def test_cancelling_replaces_the_cached_answer(org, owner_jwt, teammate_jwt):
    job = make_job(org)
    path = f"/api/v1/jobs/{job.pk}/"
    assert teammate_jwt.get(path).json()["state"] == "queued"  # cached
    cancelled = owner_jwt.delete(path)
    assert cancelled.status_code == 202
    polled, queries = warm_get(teammate_jwt, path)
    assert polled.json()["state"] == "cancelled" and queries == 0
    assert "Retry-After" not in polled


# --- the cache away --------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_with_the_cache_down_jobs_still_change_and_polls_read_the_database(
    settings, monkeypatch, org, owner, caplog
):
    from jobs import rendered

    monkeypatch.setattr(rendered, "_cache_down_until", 0.0)
    settings.CACHES = {
        **settings.CACHES,
        "default": {
            **settings.CACHES["default"],
            "LOCATION": "redis://127.0.0.1:9/0",  # nothing listens on the discard port
            "OPTIONS": {**settings.CACHES["default"]["OPTIONS"], "SOCKET_CONNECT_TIMEOUT": 0.5},
        },
    }
    client = jwt_client(owner)
    job = make_job(org)
    path = f"/api/v1/jobs/{job.pk}/"
    assert client.get(path).json()["state"] == "queued"
    began = time.monotonic()
    claimed = job_claim(job.pk)
    assert job_succeed(claimed, {"forecast_run": 5})
    assert time.monotonic() - began < 2  # the second write skipped the dead cache
    assert caplog.text.count("job_cache_write_failed") == 1
    polled = client.get(path, {"wait": 5})
    assert polled.status_code == 200 and polled.json()["state"] == "succeeded"
