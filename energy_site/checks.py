"""System checks of the site's production settings (`manage.py check --deploy`)."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Tags, register

# Keys that are public: shipped in this repository, its compose file or Dockerfile.
KNOWN_KEYS = {
    "insecure-dev-key-set-DJANGO_SECRET_KEY-in-production-0123456789",
    "change-me-in-production",
    "change-me",
    "build",
    "secret",
}
MIN_KEY_LENGTH = 50
MIN_UNIQUE_CHARACTERS = 5


@register(Tags.security, deploy=True)
def secret_key_strong(app_configs, **kwargs):
    """Fail (not warn, as Django's security.W009 does) on a weak or public key: it signs
    every JWT, so whoever knows it can act as any user."""
    key = str(settings.SECRET_KEY)
    if (
        key in KNOWN_KEYS
        or key.startswith("django-insecure")
        or len(key) < MIN_KEY_LENGTH
        or len(set(key)) < MIN_UNIQUE_CHARACTERS
    ):
        return [
            Error(
                "DJANGO_SECRET_KEY is weak or publicly known.",
                hint=(
                    f"Use at least {MIN_KEY_LENGTH} random characters, e.g. "
                    "`python -c 'import secrets; print(secrets.token_urlsafe(50))'`."
                ),
                id="energy_site.E001",
            )
        ]
    return []
