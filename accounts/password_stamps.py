"""The password stamp every JWT carries (claim ``pwd``): a keyed hash of the user's
password hash, so changing the password revokes every token issued before (Django's
session-auth idea applied to JWT; accounts/auth.py and accounts/tokens.py check it)."""

from __future__ import annotations

from django.utils.crypto import constant_time_compare, salted_hmac

PASSWORD_CLAIM = "pwd"


def password_stamp(user) -> str:
    """Changes whenever the user's password does; reveals nothing about it."""
    return salted_hmac("accounts.tokens.password_stamp", user.password).hexdigest()[:20]


def token_matches_password(token, user) -> bool:
    return constant_time_compare(str(token.get(PASSWORD_CLAIM, "")), password_stamp(user))
