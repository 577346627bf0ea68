"""The forecasts admin: pages render, API keys are shown once and stored hashed, jobs cancel."""

from __future__ import annotations

import re

import pytest
from django.contrib.messages import get_messages

from accounts.models import ApiKey
from cities.models import Observation
from jobs.models import Job
from jobs.services import job_create
from tests.factories import load_observations

MODELS = [
    "accounts/organization",
    "accounts/membership",
    "accounts/apikey",
    "cities/city",
    "cities/observation",
    "forecasts/forecastrun",
    "forecasts/forecast",
    "jobs/job",
]


@pytest.mark.django_db
@pytest.mark.parametrize("model", MODELS)
def test_changelists_render(admin_client, city, model):
    assert admin_client.get(f"/admin/{model}/").status_code == 200


@pytest.mark.django_db
def test_city_list_shows_the_observation_count(admin_client, city, victoria):
    load_observations(city, victoria.loc["2014-07-01"])
    page = admin_client.get("/admin/cities/city/").content.decode()
    assert re.search(r'field-observation_count">48<', page)


@pytest.mark.django_db
def test_admin_edits_and_deletions_of_observations_update_the_city_summary(
    admin_client, org, city, victoria
):
    from tests.factories import make_city

    other = make_city(org, name="Geelong")
    load_observations(city, victoria.loc["2014-07-01"])
    first, *middle, last = Observation.objects.filter(city=city).order_by("timestamp")

    admin_client.post(
        "/admin/cities/observation/",
        {"action": "delete_selected", "_selected_action": [first.pk, middle[0].pk], "post": "yes"},
    )
    moved = admin_client.post(
        f"/admin/cities/observation/{last.pk}/change/",
        {
            "city": other.pk,
            "timestamp_0": last.timestamp.strftime("%Y-%m-%d"),
            "timestamp_1": last.timestamp.strftime("%H:%M:%S"),
            "demand_mw": last.demand_mw,
            "temperature_c": last.temperature_c,
        },
    )

    assert moved.status_code == 302, moved.content.decode()[:2000]
    city.refresh_from_db()
    other.refresh_from_db()
    assert city.observation_count == Observation.objects.filter(city=city).count() == 45
    assert (city.first_observation, city.last_observation) == (
        middle[1].timestamp,
        middle[-1].timestamp,
    )
    assert other.observation_count == 1
    assert other.first_observation == other.last_observation == last.timestamp


@pytest.mark.django_db
def test_api_key_is_shown_once_and_stored_hashed(admin_client, org):
    response = admin_client.post(
        "/admin/accounts/apikey/add/", {"organization": org.pk, "name": "scheduler"}, follow=True
    )

    texts = [str(m) for m in get_messages(response.wsgi_request)]
    raw = next(re.search(r"only once\): (\S+)", t).group(1) for t in texts if "only once" in t)
    key = ApiKey.objects.get(name="scheduler")
    assert key.hashed_key == ApiKey.hash(raw) and raw not in key.hashed_key
    assert raw.startswith(key.prefix + ".")


@pytest.mark.django_db
def test_cancel_action_cancels_only_unfinished_jobs(admin_client, org):
    queued, _ = job_create(organization=org, user=None, kind=Job.Kind.INGEST, params={})
    done, _ = job_create(organization=org, user=None, kind=Job.Kind.INGEST, params={"n": 2})
    Job.objects.filter(pk=done.pk).update(state=Job.State.SUCCEEDED)

    admin_client.post(
        "/admin/jobs/job/",
        {"action": "cancel", "_selected_action": [str(queued.pk), str(done.pk)]},
    )

    assert Job.objects.get(pk=queued.pk).state == Job.State.CANCELLED
    assert Job.objects.get(pk=done.pk).state == Job.State.SUCCEEDED
