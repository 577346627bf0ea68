"""A warm read of a job or a forecast run in one Redis round trip (accounts/hot_reads.py):
the principal, the rate-limit counters and the cached rendering in one pipeline, with
tenancy, the limits and revocation exactly as without it. Real PostgreSQL and Redis;
round trips are counted on redis-py's connection, which still sends every command."""

from __future__ import annotations

import os
import time

import pytest
from django.core.cache import caches
from redis.connection import Connection

from accounts import hot_reads, throttles
from accounts.models import Membership
from tests.jobs.test_fast_reads import finished_job, jwt_client, key_client, make_run

pytestmark = [pytest.mark.needs_server, pytest.mark.django_db]


@pytest.fixture(autouse=True)
def _fresh(monkeypatch):
    # An outage test elsewhere may have paused prefetching; counters start at zero.
    monkeypatch.setattr(hot_reads, "_skip_until", 0.0)
    caches["throttle"].clear()
    yield
    caches["throttle"].clear()


class RoundTrips:
    """Counts what redis-py sends: one packed command per call, a pipeline is one."""

    def __init__(self, monkeypatch):
        self.count = 0
        send = Connection.send_packed_command

        def counted(connection, *args, **kwargs):
            self.count += 1
            return send(connection, *args, **kwargs)

        monkeypatch.setattr(Connection, "send_packed_command", counted)


def rates(settings, **changes):
    settings.API_THROTTLE_RATES = {**settings.API_THROTTLE_RATES, **changes}


@pytest.mark.parametrize("what", ["run", "job"])
@pytest.mark.parametrize("credential", ["jwt", "api_key"])
def test_a_warm_read_is_one_round_trip(what, credential, monkeypatch, org, owner, city):
    path = (
        f"/api/v1/forecast-runs/{make_run(city).pk}/"
        if what == "run"
        else f"/api/v1/jobs/{finished_job(org).pk}/"
    )
    client = jwt_client(owner) if credential == "jwt" else key_client(org)[0]
    first = client.get(path)  # renders, caches, and learns the principal's buckets
    assert first.status_code == 200
    trips = RoundTrips(monkeypatch)
    warm = client.get(path)
    assert warm.status_code == 200
    assert warm.content == first.content and warm["ETag"] == first["ETag"]
    assert trips.count == 1
    not_modified = client.get(path, HTTP_IF_NONE_MATCH=first["ETag"])
    assert not_modified.status_code == 304
    assert trips.count == 2


def test_a_stranger_with_a_prefetched_rendering_still_gets_404(
    monkeypatch, org, other_org, owner, stranger
):
    path = f"/api/v1/jobs/{finished_job(org).pk}/"
    assert jwt_client(owner).get(path).status_code == 200  # the rendering is cached
    for client in (jwt_client(stranger), key_client(other_org)[0]):
        assert client.get(path).status_code == 404  # learns the stranger's buckets
        trips = RoundTrips(monkeypatch)
        refused = client.get(path)
        assert trips.count == 1  # the owner's rendering was read in the pipeline ...
        assert refused.status_code == 404  # ... and refused: another organisation's
        assert refused.json()["error"]["code"] == "not_found"


def test_prefetched_counts_enforce_each_bucket_exactly(settings, org, owner, teammate):
    rates(settings, user="4/min", organization="6/min")
    path = f"/api/v1/jobs/{finished_job(org).pk}/"
    mine, theirs = jwt_client(owner), jwt_client(teammate)
    assert [mine.get(path).status_code for _ in range(5)] == [200, 200, 200, 200, 429]
    # The organisation counted the owner's four allowed reads and the refused fifth.
    assert [theirs.get(path).status_code for _ in range(2)] == [200, 429]
    limited = theirs.get(path)
    assert limited.json()["error"]["code"] == "throttled"
    assert 0 < int(limited["Retry-After"]) <= 60


def test_a_moved_membership_is_counted_by_its_new_organisation(settings, org, other_org, teammate):
    rates(settings, user="100/min", organization="3/min")
    client = jwt_client(teammate)
    there = f"/api/v1/jobs/{finished_job(other_org).pk}/"
    here = f"/api/v1/jobs/{finished_job(org).pk}/"
    assert client.get(here).status_code == 200
    membership = Membership.objects.get(user=teammate)
    membership.organization = other_org
    membership.save()  # drops the cached principal (accounts/signals.py)
    assert client.get(here).status_code == 404
    # Three reads in the new organisation, then its ceiling: the first read after the
    # move was counted there too, by the throttle's own pipeline.
    statuses = [client.get(there).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]


def test_revocation_holds_through_the_prefetch(monkeypatch, org, owner):
    path = f"/api/v1/jobs/{finished_job(org).pk}/"
    client, key = key_client(org)
    person = jwt_client(owner)
    for each in (client, person):
        assert each.get(path).status_code == 200
        trips = RoundTrips(monkeypatch)
        assert each.get(path).status_code == 200 and trips.count == 1
    key.revoked = True
    key.save()
    assert client.get(path).status_code == 401
    owner.is_active = False
    owner.save()
    assert person.get(path).status_code == 401


def test_a_redis_outage_skips_the_prefetch_and_the_read_is_answered(
    settings, monkeypatch, org, owner, caplog
):
    path = f"/api/v1/jobs/{finished_job(org).pk}/"
    client = jwt_client(owner)
    assert client.get(path).status_code == 200
    dead = "redis://127.0.0.1:9/0"  # nothing listens on the discard port
    settings.CACHES = {
        name: {
            **conf,
            "LOCATION": dead,
            "OPTIONS": {**conf["OPTIONS"], "SOCKET_CONNECT_TIMEOUT": 0.2},
        }
        for name, conf in settings.CACHES.items()
    }
    answered = client.get(path)
    assert answered.status_code == 200 and answered.json()["state"] == "succeeded"
    assert caplog.text.count("read_prefetch_failed") == 1
    assert client.get(path).status_code == 200
    assert caplog.text.count("read_prefetch_failed") == 1  # paused, not retried each time


def test_a_token_kept_after_its_signature_check_still_expires(org, owner):
    from datetime import timedelta

    from rest_framework.test import APIClient
    from rest_framework_simplejwt.utils import aware_utcnow

    from accounts.tokens import PasswordStampedTokenSerializer

    token = PasswordStampedTokenSerializer.get_token(owner).access_token
    token.set_exp(from_time=aware_utcnow(), lifetime=timedelta(seconds=2))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    path = f"/api/v1/jobs/{finished_job(org).pk}/"
    assert [client.get(path).status_code for _ in range(2)] == [200, 200]  # kept
    time.sleep(2.1)
    expired = client.get(path)
    assert expired.status_code == 401
    assert expired.json()["error"]["code"] in {"token_not_valid", "not_authenticated"}
    forged = APIClient()
    forged.credentials(HTTP_AUTHORIZATION=f"Bearer {str(token)[:-2]}xx")
    assert forged.get(path).status_code == 401


@pytest.fixture
def own_redis(tmp_path):
    """A redis-server of this test's own (its script cache may be flushed)."""
    import shutil
    import signal
    import socket
    import subprocess

    import redis

    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server is not installed")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    client = redis.Redis(port=port)
    for _ in range(100):
        try:
            client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    yield port, client
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


def test_a_server_that_lost_the_script_gets_it_again(settings, org, owner, own_redis, caplog):
    port, server = own_redis
    settings.CACHES = {
        name: {**conf, "LOCATION": f"redis://127.0.0.1:{port}/{db}"}
        for (name, conf), db in zip(settings.CACHES.items(), (0, 0), strict=True)
    }
    path = f"/api/v1/jobs/{finished_job(org).pk}/"
    client = jwt_client(owner)
    assert [client.get(path).status_code for _ in range(2)] == [200, 200]
    server.script_flush()  # what a restarted or failed-over Redis knows of our script
    again = client.get(path)
    assert again.status_code == 200 and again.json()["state"] == "succeeded"
    assert "read_prefetch_failed" not in caplog.text  # EVALSHA refused, the script re-sent
    assert server.script_exists(*[s.sha for s in throttles._scripts]) == [True]
