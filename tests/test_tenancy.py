"""Every view checks ownership: the owner (organisation admin) is served, a teammate
(member) may read but not change the fleet, promote or upload, a stranger (admin of
another organisation) gets the 404 that does not reveal the object exists."""

from __future__ import annotations

import pytest

from jobs.models import Job
from jobs.services import job_create
from optimization.fleet import demo_fleet_create
from optimization.models import DispatchRun, GenerationSource, StorageUnit
from tests.factories import client_for
from tests.optimization.test_services import forecast_run_for_day
from training.models import ModelVersion

pytestmark = pytest.mark.django_db

READ, WRITE, ANY_MEMBER = "read", "write", "any member"


@pytest.fixture
def world(city, victoria):
    """One of everything of the owner's organisation."""
    demo_fleet_create(city)
    run = forecast_run_for_day(city, victoria, "2014-03-15")
    job, _ = job_create(organization=city.organization, user=None, kind="forecast", params={})
    return {
        "city": city.pk,
        "source": GenerationSource.objects.filter(city=city).first().pk,
        "storage": StorageUnit.objects.filter(city=city).first().pk,
        "run": run.pk,
        "dispatch": DispatchRun.objects.create(forecast_run=run, mode="base").pk,
        "model": ModelVersion.objects.create(city=city, version=1).pk,
        "job": str(job.pk),
    }


# (method, path template, body, who may: READ = any member, WRITE = admins only)
ENDPOINTS = [
    ("get", "/api/v1/cities/{city}/", None, READ),
    ("get", "/api/v1/cities/{city}/observations/", None, READ),
    ("post", "/api/v1/cities/{city}/observations/", None, WRITE),
    ("post", "/api/v1/cities/{city}/train/", None, ANY_MEMBER),
    ("get", "/api/v1/models/{model}/", None, READ),
    ("post", "/api/v1/models/{model}/promote/", None, WRITE),
    ("get", "/api/v1/forecast-runs/{run}/", None, READ),
    ("get", "/api/v1/cities/{city}/sources/", None, READ),
    ("post", "/api/v1/cities/{city}/sources/", {"name": "x"}, WRITE),
    ("get", "/api/v1/cities/{city}/sources/{source}/", None, READ),
    ("patch", "/api/v1/cities/{city}/sources/{source}/", {"capacity_mw": 10}, WRITE),
    ("delete", "/api/v1/cities/{city}/sources/{source}/", None, WRITE),
    ("get", "/api/v1/cities/{city}/storage/", None, READ),
    ("post", "/api/v1/cities/{city}/storage/", {"name": "x"}, WRITE),
    ("get", "/api/v1/cities/{city}/storage/{storage}/", None, READ),
    ("patch", "/api/v1/cities/{city}/storage/{storage}/", {"power_mw": 10}, WRITE),
    ("delete", "/api/v1/cities/{city}/storage/{storage}/", None, WRITE),
    ("get", "/api/v1/dispatch/{dispatch}/", None, READ),
    ("get", "/api/v1/jobs/{job}/", None, READ),
    ("delete", "/api/v1/jobs/{job}/", None, ANY_MEMBER),
    # Objects named in the body are looked up in the caller's organisation too.
    (
        "post",
        "/api/v1/forecasts/",
        {"city": "{city}", "start": "2014-12-01T00:00:00+11:00", "horizon_hours": 24},
        ANY_MEMBER,
    ),  # fmt: skip
    ("post", "/api/v1/dispatch/", {"forecast_run": "{run}"}, ANY_MEMBER),
    ("get", "/api/v1/forecasts/?city={city}", None, READ),
]


def _request(user, method, template, body, world):
    path = template.format(**world)
    if body is not None:
        # "{run}" alone is the id itself, a JSON integer as the schema types it (the fleet
        # and dispatch bodies take no id as text).
        body = {
            k: world[v[1:-1]] if isinstance(v, str) and v[1:-1] in world and v[0] == "{"
            else v.format(**world) if isinstance(v, str) else v
            for k, v in body.items()
        }  # fmt: skip
    return getattr(client_for(user), method)(path, body, format="json")


@pytest.mark.parametrize("method, template, body, who", ENDPOINTS)
def test_the_owner_is_served(owner, world, method, template, body, who):
    answer = _request(owner, method, template, body, world)
    # Served: any answer but "not yours" (a 4xx about the body itself is fine).
    assert answer.status_code not in (403, 404), answer.content


@pytest.mark.parametrize("method, template, body, who", ENDPOINTS)
def test_a_teammate_reads_but_writes_only_what_members_may(
    teammate, world, method, template, body, who
):
    answer = _request(teammate, method, template, body, world)
    if who == WRITE:
        assert answer.status_code == 403, answer.content
        assert answer.json()["error"]["code"] == "permission_denied"
    else:
        assert answer.status_code not in (403, 404), answer.content


@pytest.mark.parametrize("method, template, body, who", ENDPOINTS)
def test_a_stranger_gets_404_and_changes_nothing(stranger, world, method, template, body, who):
    jobs_before = Job.objects.count()
    answer = _request(stranger, method, template, body, world)
    assert answer.status_code == 404, answer.content
    assert answer.json()["error"]["code"] == "not_found"
    assert Job.objects.count() == jobs_before
    assert GenerationSource.objects.filter(pk=world["source"]).exists()
    assert Job.objects.get(pk=world["job"]).state == Job.State.QUEUED


@pytest.mark.parametrize(
    "path, key",
    [
        ("/api/v1/cities/", "id"),
        ("/api/v1/jobs/", "id"),
        ("/api/v1/models/", "id"),
        ("/api/v1/forecasts/", "forecast_run"),
    ],
)
def test_lists_show_only_the_callers_organisation(owner, stranger, world, path, key):
    mine = client_for(owner).get(path).json()["results"]
    theirs = client_for(stranger).get(path).json()["results"]
    assert mine, f"the owner sees their own {path}"
    assert theirs == []
