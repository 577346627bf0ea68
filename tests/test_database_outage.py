"""The database goes away (failover, killed backends): 503 in the envelope, /health/ready
names it, claims retry, and everything recovers by itself (issue 10, docs/reliability.md).
"""

import psycopg2
import pytest
from django.db import connection

from jobs.models import Job
from jobs.services import job_claim, job_create

pytestmark = [pytest.mark.needs_server, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def database_unreachable():
    """Point this process's connection at a port where nothing listens, then back."""
    saved = connection.settings_dict["PORT"]

    def cut():
        connection.close()
        connection.settings_dict["PORT"] = "9"

    def restore():
        connection.close()
        connection.settings_dict["PORT"] = saved

    yield cut, restore
    restore()


def test_the_api_answers_503_while_the_database_is_down_and_recovers(
    owner_client, city, client, database_unreachable
):
    cut, restore = database_unreachable
    cut()
    response = owner_client.get("/api/v1/cities/")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "database_unavailable"
    assert response["Retry-After"] == "5"
    ready = client.get("/health/ready")
    assert ready.status_code == 503 and "database" in ready.json()["down"]
    dashboard = client.get("/admin/login/")  # outside DRF: the middleware answers
    assert dashboard.status_code in (200, 503)
    restore()
    assert owner_client.get("/api/v1/cities/").status_code == 200
    assert "database" not in client.get("/health/ready").json()["down"]


def test_a_claim_survives_its_backend_being_terminated(org):
    job = job_create(organization=org, user=None, kind="optimize", params={})[0]
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    settings = connection.settings_dict
    killer = psycopg2.connect(
        dbname=settings["NAME"],
        user=settings["USER"],
        host=settings["HOST"],
        port=settings["PORT"],
        password=settings["PASSWORD"] or None,
    )
    killer.autocommit = True
    with killer.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    killer.close()
    claimed = job_claim(job.pk)  # the first try meets the dead connection, the retry wins
    assert claimed is not None and claimed.state == Job.State.RUNNING
    assert claimed.attempts == 1
