"""Shared fixtures: three users (owner, teammate, stranger) and real sample data."""

from __future__ import annotations

import pandas as pd
import pytest
from django.conf import settings
from rest_framework.test import APIClient

from accounts.models import Membership, Organization
from cities.models import City
from cities.sample_data import sample_frame


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


def make_org_user(django_user_model, org: Organization, username: str, role="member"):
    user = django_user_model.objects.create_user(username=username, password="pw-" + username)
    Membership.objects.create(user=user, organization=org, role=role)
    return user


@pytest.fixture
def org(db) -> Organization:
    return Organization.objects.create(name="Victoria Power", slug="vic")


@pytest.fixture
def other_org(db) -> Organization:
    return Organization.objects.create(name="Elsewhere Energy", slug="elsewhere")


@pytest.fixture
def owner(django_user_model, org):
    return make_org_user(django_user_model, org, "owner", role=Membership.Role.ADMIN)


@pytest.fixture
def teammate(django_user_model, org):
    return make_org_user(django_user_model, org, "teammate")


@pytest.fixture
def stranger(django_user_model, other_org):
    return make_org_user(django_user_model, other_org, "stranger", role=Membership.Role.ADMIN)


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user=user)
    return client


@pytest.fixture
def owner_client(owner) -> APIClient:
    return client_for(owner)


@pytest.fixture
def teammate_client(teammate) -> APIClient:
    return client_for(teammate)


@pytest.fixture
def stranger_client(stranger) -> APIClient:
    return client_for(stranger)


def make_city(org, name="Melbourne", **overrides) -> City:
    """A city; Melbourne's settings unless overridden."""
    fields = {
        "country": "AU",
        "timezone": "Australia/Melbourne",
        "latitude": -37.81,
        "longitude": 144.96,
        "resolution_minutes": 30,
        **overrides,
    }
    return City.objects.create(organization=org, name=name, **fields)


@pytest.fixture
def city(org) -> City:
    return make_city(org)


def load_observations(city: City, frame: pd.DataFrame) -> int:
    """Store demand and temperature through the service uploads use."""
    from cities.services import observations_upsert

    return observations_upsert(city=city, frame=frame[["demand_mw", "temperature_c"]])


@pytest.fixture
def city_with_history(city, victoria) -> City:
    """Melbourne with the last ten weeks of 2014 (enough for lags and a backtest)."""
    load_observations(city, victoria.loc["2014-10-22":])
    return city
