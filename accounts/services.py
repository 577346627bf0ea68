"""Writes of the accounts app."""

from __future__ import annotations

from accounts.models import ApiKey


def api_key_issue(key: ApiKey) -> str:
    """Give an unsaved ``key`` a new secret, save its hash; returns the raw key.

    The raw key exists only in the return value: show it once, it is never stored.
    """
    key.prefix, raw_key = ApiKey.generate()
    key.hashed_key = ApiKey.hash(raw_key)
    key.save()
    return raw_key
