"""Unsafe production settings are refused (issue 10): no secret key with debug off stops
the process, `check --deploy` fails on a weak or public key, and tokens signed with any
other key are rejected."""

import os
import subprocess
import sys
import time
from pathlib import Path

import jwt
import pytest
from rest_framework.test import APIClient

ROOT = Path(__file__).resolve().parent.parent


def run_manage(*args, **env_changes):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTEST_VERSION", "DJANGO_DEBUG")}
    env.pop("DJANGO_SECRET_KEY", None)
    env.update(env_changes)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_without_a_secret_key_and_debug_off_the_process_exits_with_a_clear_message():
    result = run_manage("check")
    assert result.returncode == 2
    assert "DJANGO_SECRET_KEY is not set" in result.stderr
    assert "Traceback" not in result.stderr


def test_debug_mode_may_start_without_a_key():
    assert run_manage("check", DJANGO_DEBUG="1").returncode == 0


@pytest.mark.parametrize("key", ["change-me-in-production", "short-key", "a" * 60])
def test_check_deploy_fails_on_a_weak_or_public_key(key):
    result = run_manage("check", "--deploy", DJANGO_SECRET_KEY=key)
    assert result.returncode != 0
    assert "energy_site.E001" in result.stdout + result.stderr


@pytest.mark.django_db
def test_a_token_signed_with_another_key_is_rejected(owner):
    now = int(time.time())
    claims = {"token_type": "access", "user_id": str(owner.pk), "jti": "x" * 32}
    forged = jwt.encode(
        {**claims, "iat": now, "exp": now + 600}, "another-key-" + "x" * 50, algorithm="HS256"
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {forged}")
    response = client.get("/api/v1/cities/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
