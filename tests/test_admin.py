"""The admin: every changelist renders, and its actions (train now, promote) do their job."""

import pytest

from jobs.models import Job
from optimization.fleet import demo_fleet_create
from training.models import ModelVersion

pytestmark = pytest.mark.django_db

PAGES = [
    "training/modelversion",
    "optimization/generationsource",
    "optimization/storageunit",
    "optimization/dispatchrun",
    "optimization/energymix",
    "django_celery_beat/periodictask",
]


@pytest.mark.parametrize("page", PAGES)
def test_changelists_render(admin_client, city, page):
    demo_fleet_create(city)
    assert admin_client.get(f"/admin/{page}/").status_code == 200


def test_train_now_queues_a_training_job(
    admin_client, city_with_history, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = admin_client.post(
            "/admin/cities/city/",
            {"action": "train_now", "_selected_action": [city_with_history.pk]},
            follow=True,
        )
    assert response.status_code == 200
    job = Job.objects.get()
    assert job.kind == Job.Kind.TRAIN and job.params["city"] == city_with_history.pk
    assert len(callbacks) == 1  # the task is sent once the transaction commits


def test_promote_action_swaps_the_active_model(admin_client, city):
    old = ModelVersion.objects.create(city=city, version=1, status=ModelVersion.Status.ACTIVE)
    new = ModelVersion.objects.create(city=city, version=2, artifact="models/x.cbm")
    admin_client.post(
        "/admin/training/modelversion/",
        {"action": "promote", "_selected_action": [new.pk]},
        follow=True,
    )
    old.refresh_from_db()
    new.refresh_from_db()
    assert (old.status, new.status) == (ModelVersion.Status.RETIRED, ModelVersion.Status.ACTIVE)


def test_the_admin_still_shows_messages_and_the_api_sets_none_up(admin_client, org):
    # energy_site/middleware.py: MessagesOutsideTheApi. The new key is shown once, as a
    # message on the page the admin lands on.
    created = admin_client.post(
        "/admin/accounts/apikey/add/", {"organization": org.pk, "name": "ci"}, follow=True
    )
    assert created.status_code == 200
    shown = [str(m) for m in created.context["messages"]]
    assert any("shown only once" in m for m in shown)
    api = admin_client.get("/api/v1/cities/")
    assert api["Content-Type"] == "application/json"  # an API answer (403: no organisation)
    assert not hasattr(api.wsgi_request, "_messages")
