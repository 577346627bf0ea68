"""Shared fixtures: three users (owner, teammate, stranger) and real sample data."""

from __future__ import annotations

import pandas as pd
import pytest
from django.conf import settings
from rest_framework.test import APIClient

from accounts.models import Organization
from cities.models import City
from cities.sample_data import sample_frame
from tests.factories import (
    client_for,
    load_observations,
    make_city,
    make_org,
    make_owner,
    make_stranger,
    make_teammate,
)


def pytest_report_header(config):
    if settings.USING_EMBEDDED_DEFAULTS:
        return (
            "energy-forecast: DATABASE_URL/REDIS_URL not set -> embedded defaults "
            "(SQLite, filesystem broker, local cache); tests marked needs_server are skipped"
        )
    return f"energy-forecast: PostgreSQL + Redis ({settings.CELERY_BROKER_URL})"


def pytest_collection_modifyitems(config, items):
    if settings.USING_EMBEDDED_DEFAULTS or not settings.REDIS_URL:
        skip = pytest.mark.skip(reason="needs DATABASE_URL and REDIS_URL (real servers)")
        for item in items:
            if "needs_server" in item.keywords:
                item.add_marker(skip)


@pytest.fixture(autouse=True)
def _clear_cache():
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture(scope="session")
def victoria() -> pd.DataFrame:
    """The shipped Victoria 2014 data (UTC index, demand_mw, temperature_c)."""
    return sample_frame()


@pytest.fixture
def org(db) -> Organization:
    return make_org()


@pytest.fixture
def other_org(db) -> Organization:
    return make_org(name="Elsewhere Energy", slug="elsewhere")


@pytest.fixture
def owner(org):
    return make_owner(org)


@pytest.fixture
def teammate(org):
    return make_teammate(org)


@pytest.fixture
def stranger(other_org):
    return make_stranger(other_org)


@pytest.fixture
def owner_client(owner) -> APIClient:
    return client_for(owner)


@pytest.fixture
def teammate_client(teammate) -> APIClient:
    return client_for(teammate)


@pytest.fixture
def stranger_client(stranger) -> APIClient:
    return client_for(stranger)


@pytest.fixture
def city(org) -> City:
    return make_city(org)


@pytest.fixture
def city_with_history(city, victoria) -> City:
    """Melbourne with the last ten weeks of 2014 (enough for lags and a backtest)."""
    load_observations(city, victoria.loc["2014-10-22":])
    return city


def tool_or_skip(name: str) -> str:
    """The path of an external program a test drives (docker-compose, nginx, promtool,
    chromium). Missing, it skips the test, except under CI (EF_REQUIRE_TOOLS=1, set by
    .ci/run after installing them), where a missing tool is a failure, not a pass."""
    import os
    import shutil

    path = shutil.which(name)
    if path:
        return path
    if os.environ.get("EF_REQUIRE_TOOLS") == "1":
        pytest.fail(f"{name} is not installed; .ci/run installs it")
    pytest.skip(f"{name} is not installed")
