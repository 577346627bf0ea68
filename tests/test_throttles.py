"""Rate limits per tenant, proxy headers, the sign-in lockout, token revocation and API
key allow-lists (issue 10, docs/api.md "Rate limits" and "Authentication")."""

import pytest
from axes.models import AccessAttempt
from django.core.cache import caches
from rest_framework.test import APIClient

from accounts.models import ApiKey
from accounts.services import api_key_issue
from tests.factories import make_org, make_owner

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_counters():
    caches["throttle"].clear()
    yield
    caches["throttle"].clear()


def key_client(org, **fields) -> APIClient:
    raw = api_key_issue(ApiKey(organization=org, name="machine", **fields))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    return client


def rates(settings, **changes):
    settings.API_THROTTLE_RATES = {**settings.API_THROTTLE_RATES, **changes}


def test_each_api_key_has_its_own_bucket(settings, org, other_org):
    rates(settings, api_key="1/min")
    mine, theirs = key_client(org), key_client(other_org)
    assert mine.get("/api/v1/cities/").status_code == 200
    assert theirs.get("/api/v1/cities/").status_code == 200  # was 429: one shared bucket
    limited = mine.get("/api/v1/cities/")
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "throttled"
    assert 0 < int(limited["Retry-After"]) <= 60


def test_each_user_has_a_bucket_and_the_organisation_a_ceiling(settings, org, owner, teammate):
    rates(settings, user="2/min", organization="3/min")
    owner_client, team_client = APIClient(), APIClient()
    owner_client.force_authenticate(owner)
    team_client.force_authenticate(teammate)
    assert owner_client.get("/api/v1/cities/").status_code == 200
    assert owner_client.get("/api/v1/cities/").status_code == 200
    assert team_client.get("/api/v1/cities/").status_code == 200  # own bucket; org: 3 of 3
    assert team_client.get("/api/v1/cities/").status_code == 429  # the org's ceiling
    rates(settings, organization="100/min")
    assert owner_client.get("/api/v1/cities/").status_code == 429  # the user's own bucket
    other = APIClient()
    other.force_authenticate(make_owner(make_org("Other", "other"), "someone"))
    assert other.get("/api/v1/cities/").status_code == 200


def test_forwarded_headers_are_ignored_unless_a_configured_proxy_sent_them(settings, client):
    rates(settings, anonymous="1/min")
    assert client.get("/api/schema/", REMOTE_ADDR="198.51.100.7").status_code == 200
    spoofed = client.get(
        "/api/schema/", REMOTE_ADDR="198.51.100.7", HTTP_X_FORWARDED_FOR="203.0.113.99"
    )
    assert spoofed.status_code == 429  # the header did not reset the address's bucket
    settings.TRUSTED_PROXY_NETWORKS = ["10.0.0.0/8"]
    via_proxy = client.get(
        "/api/schema/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.99"
    )
    assert via_proxy.status_code == 200  # a proxy's header names the real client


def test_forwarded_proto_is_believed_only_from_a_configured_proxy(settings, owner):
    settings.SECURE_SSL_REDIRECT = True
    client = APIClient()
    client.force_authenticate(owner)
    spoofed = client.get("/api/v1/cities/", HTTP_X_FORWARDED_PROTO="https")
    assert spoofed.status_code == 301  # still plain http: redirected
    settings.TRUSTED_PROXY_NETWORKS = ["127.0.0.0/8"]
    assert client.get("/api/v1/cities/", HTTP_X_FORWARDED_PROTO="https").status_code == 200


def sign_in(client, username, password, addr="198.51.100.20"):
    return client.post(
        "/api/v1/auth/token/",
        {"username": username, "password": password},
        format="json",
        REMOTE_ADDR=addr,
    )


def test_sign_in_locks_a_username_after_repeated_failures_until_an_admin_lifts_it(settings, owner):
    settings.AXES_FAILURE_LIMIT = 3
    client = APIClient()
    assert [sign_in(client, "owner", "wrong").status_code for _ in range(3)] == [401, 401, 429]
    locked = sign_in(client, "owner", "pw-owner", addr="198.51.100.21")  # right password
    assert locked.status_code == 429
    assert locked.json()["error"]["code"] == "login_locked"
    assert int(locked["Retry-After"]) == 15 * 60
    AccessAttempt.objects.filter(username="owner").delete()  # the admin lifts it
    assert sign_in(client, "owner", "pw-owner", addr="198.51.100.21").status_code == 200


def test_sign_in_locks_an_address_that_tries_many_usernames(settings, owner):
    settings.AXES_FAILURE_LIMIT = 3
    client = APIClient()
    answers = [sign_in(client, name, "guess", addr="198.51.100.30").status_code for name in "abc"]
    assert answers == [401, 401, 429]
    assert sign_in(client, "owner", "pw-owner", addr="198.51.100.30").status_code == 429
    assert sign_in(client, "owner", "pw-owner", addr="198.51.100.31").status_code == 200


def test_sign_in_has_its_own_rate_per_address(settings, owner):
    rates(settings, login="2/min")
    client = APIClient()
    assert sign_in(client, "owner", "pw-owner").status_code == 200
    assert sign_in(client, "owner", "pw-owner").status_code == 200
    assert sign_in(client, "owner", "pw-owner").status_code == 429


def test_a_cache_outage_fails_sign_in_closed_and_reads_open(settings, owner, caplog):
    settings.CACHES = {
        **settings.CACHES,
        "throttle": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:9/0",  # nothing listens on the discard port
            "OPTIONS": {
                "SOCKET_CONNECT_TIMEOUT": 0.2,
                "SOCKET_TIMEOUT": 0.2,
                "IGNORE_EXCEPTIONS": False,
            },
        },
    }
    client = APIClient()
    refused = sign_in(client, "owner", "pw-owner")
    assert refused.status_code == 503
    assert refused.json()["error"]["code"] == "throttle_unavailable"
    reader = APIClient()
    reader.force_authenticate(owner)
    assert reader.get("/api/v1/cities/").status_code == 200
    assert "throttle_skipped" in caplog.text


def test_changing_the_password_revokes_access_and_refresh_tokens(owner):
    client = APIClient()
    tokens = sign_in(client, "owner", "pw-owner").json()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    assert client.get("/api/v1/cities/").status_code == 200
    owner.set_password("a-new-long-password")
    owner.save()
    assert client.get("/api/v1/cities/").status_code == 401
    refreshed = APIClient().post(
        "/api/v1/auth/token/refresh/", {"refresh": tokens["refresh"]}, format="json"
    )
    assert refreshed.status_code == 401
    fresh = sign_in(APIClient(), "owner", "a-new-long-password").json()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {fresh['access']}")
    assert client.get("/api/v1/cities/").status_code == 200


def test_an_api_key_limited_to_networks_is_refused_elsewhere(org):
    client = key_client(org, allowed_networks=["203.0.113.0/24"])
    inside = client.get("/api/v1/cities/", REMOTE_ADDR="203.0.113.5")
    assert inside.status_code == 200
    outside = client.get("/api/v1/cities/", REMOTE_ADDR="198.51.100.5")
    assert outside.status_code == 403
    assert outside.json()["error"]["code"] == "permission_denied"
    assert client.get("/api/v1/cities/").status_code == 403  # 127.0.0.1
