"""The audit trail (issue 10): every mutation through the API or the admin leaves a record
of who, what, when and from where; admins see it, nobody can change it."""

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from rest_framework.test import APIClient

from accounts.models import ApiKey
from accounts.services import api_key_issue
from audit.models import AppendOnlyError, AuditRecord

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def superuser(org):
    return get_user_model().objects.create_superuser("root", "root@example.org", "pw-root-long")


def test_api_mutations_are_recorded_with_who_and_from_where(owner_client, org, city):
    created = owner_client.post(
        "/api/v1/cities/",
        {"name": "Geelong", "country": "AU", "timezone": "Australia/Melbourne",
         "latitude": -38.15, "longitude": 144.36},
        format="json", REMOTE_ADDR="198.51.100.4",
    )  # fmt: skip
    assert created.status_code == 201
    upload = owner_client.post(
        f"/api/v1/cities/{city.pk}/observations/",
        data="timestamp,demand_mw\n2014-07-01T00:00:00Z,5000\n",
        content_type="text/csv",
    )
    assert upload.status_code == 202
    train = owner_client.post(f"/api/v1/cities/{city.pk}/train/")
    assert train.status_code == 202
    source = owner_client.post(
        f"/api/v1/cities/{city.pk}/sources/",
        {"name": "Gas", "kind": "gas", "capacity_mw": 100, "marginal_cost": 50},
        format="json",
    )
    assert source.status_code == 201
    assert owner_client.delete(
        f"/api/v1/cities/{city.pk}/sources/{source.json()['id']}/"
    ).status_code == 204  # fmt: skip

    records = list(AuditRecord.objects.order_by("pk"))
    assert [r.action for r in records] == [
        "city.create", "observations.upload", "city.train",
        "generationsource.create", "generationsource.delete",
    ]  # fmt: skip
    first = records[0]
    assert (first.actor, first.via, first.ip) == ("user:owner", "api", "198.51.100.4")
    assert first.organization_id == org.pk and first.object_repr.startswith("Geelong")
    assert all(r.organization_id == org.pk and r.at is not None for r in records)


def test_an_api_key_is_named_as_the_actor(org, city):
    raw = api_key_issue(ApiKey(organization=org, name="scada"))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    response = client.post(
        f"/api/v1/cities/{city.pk}/storage/",
        {"name": "Battery", "energy_mwh": 100, "power_mw": 50},
        format="json",
    )
    assert response.status_code == 201
    record = AuditRecord.objects.get(action="storageunit.create")
    assert record.actor == f"api-key:{ApiKey.objects.get().prefix}" and record.via == "api"


def test_admin_changes_are_recorded_and_the_trail_is_read_only(client, superuser, org, city):
    client.force_login(superuser)
    added = client.post(
        "/admin/accounts/apikey/add/", {"organization": org.pk, "name": "ops", "revoked": ""}
    )
    assert added.status_code == 302
    key = ApiKey.objects.get(name="ops")
    changed = client.post(
        f"/admin/cities/city/{city.pk}/change/",
        {"organization": org.pk, "name": "Melbourne CBD", "country": "AU",
         "timezone": "Australia/Melbourne", "latitude": -37.81, "longitude": 144.96,
         "resolution_minutes": 30, "is_active": "on"},
    )  # fmt: skip
    assert changed.status_code == 302, changed.content[:2000]
    key.revoked = True
    key.save()  # outside a request: recorded as the worker (system)
    actions = list(AuditRecord.objects.order_by("pk").values_list("action", "via", "actor"))
    assert actions == [
        ("api_key.create", "admin", "user:root"),
        ("city.change", "admin", "user:root"),
        ("api_key.revoke", "worker", "system"),
    ]

    record = AuditRecord.objects.first()
    assert client.get("/admin/audit/auditrecord/").status_code == 200
    assert client.get("/admin/audit/auditrecord/add/").status_code == 403
    assert client.post(f"/admin/audit/auditrecord/{record.pk}/delete/").status_code == 403
    page = client.get(f"/admin/audit/auditrecord/{record.pk}/change/")
    assert page.status_code == 200 and b'name="_save"' not in page.content


def test_records_can_be_neither_changed_nor_deleted(owner_client, city):
    owner_client.post(f"/api/v1/cities/{city.pk}/train/")
    record = AuditRecord.objects.get()
    record.actor = "someone-else"
    with pytest.raises(AppendOnlyError):
        record.save()
    with pytest.raises(AppendOnlyError):
        record.delete()
    with pytest.raises(AppendOnlyError):
        AuditRecord.objects.all().update(actor="x")
    with pytest.raises(AppendOnlyError):
        AuditRecord.objects.all().delete()
    if connection.vendor == "postgresql":
        from django.db import DatabaseError, transaction

        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("UPDATE audit_auditrecord SET actor = 'x'")
    assert AuditRecord.objects.get().actor == "user:owner"
