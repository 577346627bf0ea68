"""Provider credentials encrypted at rest with Fernet (``cryptography``).

Keys come from ``settings.WEATHER_CREDENTIALS_KEYS`` (the environment variable of the
same name, comma-separated, newest first) through a MultiFernet: the first key
encrypts, every key decrypts. Rotation: put a new key first, run
``manage.py weather_credentials_rotate`` (re-encrypts every stored secret with it),
then remove the old key. Without keys (development) one is derived from SECRET_KEY.
"""

from __future__ import annotations

import base64
import hashlib
import json

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

from errors import Unprocessable


def _fernet() -> MultiFernet:
    keys = list(settings.WEATHER_CREDENTIALS_KEYS)
    if not keys:
        digest = hashlib.sha256(f"weather-credentials:{settings.SECRET_KEY}".encode()).digest()
        keys = [base64.urlsafe_b64encode(digest).decode()]
    return MultiFernet([Fernet(key.encode()) for key in keys])


def credentials_encrypt(credentials: dict) -> str:
    if not credentials:
        return ""
    return _fernet().encrypt(json.dumps(credentials, sort_keys=True).encode()).decode()


def credentials_decrypt(token: str) -> dict:
    if not token:
        return {}
    try:
        return json.loads(_fernet().decrypt(token.encode()))
    except InvalidToken:
        raise Unprocessable(
            "The stored weather credentials cannot be decrypted with the configured keys "
            "(WEATHER_CREDENTIALS_KEYS).",
            code="credentials_unreadable",
        ) from None


def credentials_rotate(token: str) -> str:
    """``token`` re-encrypted with the first (newest) key."""
    return _fernet().rotate(token.encode()).decode() if token else token
