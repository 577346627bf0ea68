"""Test factories shared by every app's tests: organisations, the three users of each
tenancy test (owner, teammate, stranger), cities with real data, API clients."""

from __future__ import annotations

import pandas as pd
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from accounts.models import Membership, Organization
from cities.models import City
from cities.services import observations_upsert

MELBOURNE = {
    "country": "AU",
    "timezone": "Australia/Melbourne",
    "latitude": -37.81,
    "longitude": 144.96,
    "resolution_minutes": 30,
}


def make_org(name: str = "Victoria Power", slug: str = "vic") -> Organization:
    return Organization.objects.create(name=name, slug=slug)


def make_org_user(org: Organization, username: str, role: str = Membership.Role.MEMBER):
    """A user of ``org`` (password ``pw-<username>``)."""
    user = get_user_model().objects.create_user(username=username, password="pw-" + username)
    Membership.objects.create(user=user, organization=org, role=role)
    return user


def make_owner(org: Organization, username: str = "owner"):
    """An organisation admin: may write."""
    return make_org_user(org, username, role=Membership.Role.ADMIN)


def make_teammate(org: Organization, username: str = "teammate"):
    """A member of the same organisation: may read, may not write."""
    return make_org_user(org, username, role=Membership.Role.MEMBER)


def make_stranger(other_org: Organization, username: str = "stranger"):
    """An admin of another organisation: sees none of the first one's objects."""
    return make_org_user(other_org, username, role=Membership.Role.ADMIN)


def make_city(org: Organization, name: str = "Melbourne", **overrides) -> City:
    """A city; Melbourne's settings unless overridden."""
    return City.objects.create(organization=org, name=name, **{**MELBOURNE, **overrides})


def load_observations(city: City, frame: pd.DataFrame) -> int:
    """Store demand and temperature through the service uploads use."""
    return observations_upsert(city=city, frame=frame[["demand_mw", "temperature_c"]])


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user=user)
    return client
