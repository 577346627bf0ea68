"""JWT for people: sign-in with a lockout, and tokens that die with the password.

Every token carries ``pwd`` (accounts/password_stamps.py): changing the password
changes it, so every access and refresh token issued before the change is refused
(accounts/auth.py checks access tokens, the refresh serializer below checks refresh
tokens). No token table is needed.

Sign-in is limited per client address (accounts/throttles.py, ``login``) and locked per
username and per address after AXES_FAILURE_LIMIT failures (django-axes, stored in the
database, so the lockout holds even while the cache is down); an admin lifts it in the
admin (Axes, "Access attempts": delete the rows) or with ``manage.py axes_reset``.
"""

from __future__ import annotations

from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.contrib.auth import get_user_model
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.exceptions import InvalidToken
from rest_framework_simplejwt.serializers import (
    TokenObtainPairSerializer,
    TokenRefreshSerializer,
)
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

import errors
from accounts.password_stamps import PASSWORD_CLAIM, password_stamp, token_matches_password
from accounts.throttles import LoginRateThrottle


def login_lockout_seconds() -> int:
    return int(settings.AXES_COOLOFF_TIME.total_seconds())


def login_allowed_or_raise(request, username: str) -> None:
    """429 ``login_locked`` while the username or the client address is locked out."""
    if not AxesProxyHandler.is_allowed(request, {"username": username}):
        seconds = login_lockout_seconds()
        raise errors.RateLimited(
            "Too many failed sign-ins; try again later or ask an administrator to unlock.",
            code="login_locked",
            details={"retry_after_seconds": seconds},
        )


class PasswordStampedTokenSerializer(TokenObtainPairSerializer):
    @classmethod
    def get_token(cls, user):
        token = super().get_token(user)
        token[PASSWORD_CLAIM] = password_stamp(user)
        return token

    def validate(self, attrs):
        request = self.context["request"]
        login_allowed_or_raise(request, str(attrs.get(self.username_field, "")))
        try:
            return super().validate(attrs)
        except AuthenticationFailed:
            login_allowed_or_raise(request, str(attrs.get(self.username_field, "")))
            raise


class PasswordCheckedRefreshSerializer(TokenRefreshSerializer):
    def validate(self, attrs):
        refresh = RefreshToken(attrs["refresh"])
        user_id = refresh.get(jwt_settings.USER_ID_CLAIM)
        user = get_user_model().objects.filter(**{jwt_settings.USER_ID_FIELD: user_id}).first()
        if user is None or not user.is_active or not token_matches_password(refresh, user):
            raise InvalidToken("The token was revoked (the password changed) or its user is gone.")
        return super().validate(attrs)


class TokenObtainApi(TokenObtainPairView):
    serializer_class = PasswordStampedTokenSerializer
    throttle_classes = [LoginRateThrottle]


class TokenRefreshApi(TokenRefreshView):
    serializer_class = PasswordCheckedRefreshSerializer
    throttle_classes = [LoginRateThrottle]
