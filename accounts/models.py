"""Tenants: organisations, their members and their machine clients' API keys.

The tables keep the names they had when these models lived in the forecasts app
(``db_table``): moving code between apps never moves data.
"""

import hashlib
import ipaddress
import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models


def networks_validate(value) -> None:
    """A list of networks in CIDR notation (``["203.0.113.0/24", "2001:db8::/32"]``)."""
    if not isinstance(value, list):
        raise ValidationError('Give a list of networks, e.g. ["203.0.113.0/24"].')
    for item in value:
        try:
            ipaddress.ip_network(str(item), strict=False)
        except ValueError:
            raise ValidationError(f"{item!r} is not a network (CIDR notation).") from None


class Organization(models.Model):
    name = models.CharField(max_length=200, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "forecasts_organization"

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    class Role(models.TextChoices):
        ADMIN = "admin", "Organisation admin"
        MEMBER = "member", "Member"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="membership"
    )
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)

    class Meta:
        db_table = "forecasts_membership"

    def __str__(self) -> str:
        return f"{self.user} @ {self.organization} ({self.role})"


class ApiKey(models.Model):
    """An organisation-scoped key for machine clients; only its SHA-256 is stored."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="api_keys"
    )
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12, unique=True)
    hashed_key = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked = models.BooleanField(default=False)
    # Empty: any address. Otherwise the key is refused (403) from any other network.
    allowed_networks = models.JSONField(
        default=list,
        blank=True,
        validators=[networks_validate],
        help_text='Networks the key may be used from, e.g. ["203.0.113.0/24"]; empty: any.',
    )

    class Meta:
        db_table = "forecasts_apikey"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def hash(raw_key: str) -> str:
        return hashlib.sha256(raw_key.encode()).hexdigest()

    @classmethod
    def generate(cls) -> tuple[str, str]:
        prefix = secrets.token_hex(4)
        return prefix, f"{prefix}.{secrets.token_urlsafe(32)}"
