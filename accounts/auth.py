"""How clients authenticate: people with a JWT whose password stamp still matches
(accounts/tokens.py), machines with ``Authorization: Api-Key <key>``, optionally only
from the key's networks.

Both are answered from a short-lived cache of the principal (accounts/principals.py),
so an authenticated request costs no query; the user row itself is read only when a
view needs more of it than its id, organisation and active flag.
"""

import functools

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.utils.crypto import constant_time_compare
from django.utils.functional import SimpleLazyObject
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed, InvalidToken, TokenError
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.utils import aware_utcnow

from accounts.models import ApiKey
from accounts.network import address_in, client_ip
from accounts.password_stamps import PASSWORD_CLAIM
from accounts.principals import Principal, api_key_for_hash, principal_for_user_id


class PrincipalUser(SimpleLazyObject):
    """The user a JWT names, as its cached principal: ``pk``, ``is_active``,
    ``organization_id`` (which accounts/selectors.py reads without a query) and
    truthiness answer from the cache; anything else loads the real user row once."""

    api_key = None  # a person, not an API key (throttles and audit ask)
    is_authenticated = True
    is_anonymous = False

    def __init__(self, principal: Principal):
        user_id = principal.user_id
        super().__init__(lambda: get_user_model().objects.get(pk=user_id))
        # LazyObject forwards attribute writes to the wrapped user: write around it.
        self.__dict__["principal"] = principal

    def __bool__(self) -> bool:
        return True

    @property
    def pk(self) -> int:
        return self.principal.user_id

    id = pk

    @property
    def is_active(self) -> bool:
        return self.principal.is_active

    @property
    def organization_id(self) -> int | None:
        return self.principal.organization_id


@functools.lru_cache(maxsize=4096)
def _jwt_decoded(raw_token: bytes, signing_key: str):
    """The token validated by simplejwt's own classes (signature, type, claims), kept for
    the next request with the same bytes: a client sends one token for up to
    JWT_ACCESS_MINUTES, and checking its HMAC and claims again each time was a fifth of
    the server time of a cached read. A token that fails is never kept (lru_cache keeps
    only return values), and the signing key is part of the entry's key, so a rotated
    key invalidates them all."""
    return JWTAuthentication().get_validated_token(raw_token)


def jwt_validated(raw_token: bytes):
    """simplejwt's validated token for ``raw_token``, raising InvalidToken like it.

    Only the expiry depends on the clock, so a kept token's is checked at every use; an
    expired one goes through simplejwt again, which raises its own error."""
    token = _jwt_decoded(raw_token, jwt_settings.SIGNING_KEY)
    try:
        token.check_exp(current_time=aware_utcnow())
    except TokenError:
        return JWTAuthentication().get_validated_token(raw_token)
    return token


class PasswordStampedJWTAuthentication(JWTAuthentication):
    """simplejwt's JWT authentication, refusing tokens issued before the last password
    change (their ``pwd`` stamp no longer matches), with the user read from the cached
    principal (the same checks and messages as simplejwt's own get_user)."""

    def get_validated_token(self, raw_token):
        return jwt_validated(raw_token)

    def get_user(self, validated_token):
        try:
            user_id = validated_token[jwt_settings.USER_ID_CLAIM]
        except KeyError:
            raise InvalidToken("Token contained no recognizable user identification") from None
        principal = principal_for_user_id(user_id)
        if principal is None:
            raise AuthenticationFailed("User not found", code="user_not_found")
        if jwt_settings.CHECK_USER_IS_ACTIVE and not principal.is_active:
            raise AuthenticationFailed("User is inactive", code="user_inactive")
        stamp = str(validated_token.get(PASSWORD_CLAIM, ""))
        if not constant_time_compare(stamp, principal.password_stamp):
            raise InvalidToken("The token was revoked: the password changed since it was issued.")
        return PrincipalUser(principal)


class PasswordStampedJWTScheme(SimpleJWTScheme):
    """Documents the subclass in the OpenAPI schema like simplejwt's own class."""

    target_class = "accounts.auth.PasswordStampedJWTAuthentication"


class ApiKeyUser(AnonymousUser):
    """The principal behind an API key: authenticated, scoped to one organisation."""

    def __init__(self, api_key: ApiKey):
        self.api_key = api_key
        self.organization_id = api_key.organization_id

    @property
    def is_authenticated(self) -> bool:
        return True

    def __str__(self) -> str:
        return f"api-key:{self.api_key.prefix}"


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Api-Key"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode(errors="replace")
        if not header.startswith(self.keyword + " "):
            return None
        raw = header[len(self.keyword) + 1 :].strip()
        if not raw:
            raise exceptions.AuthenticationFailed("Empty API key.")
        key = api_key_for_hash(ApiKey.hash(raw))
        if key is None:
            raise exceptions.AuthenticationFailed("Invalid API key.")
        if key.allowed_networks and not address_in(client_ip(request), key.allowed_networks):
            raise exceptions.PermissionDenied("This API key may not be used from your address.")
        return ApiKeyUser(key), key

    def authenticate_header(self, request):
        return self.keyword


class ApiKeyScheme(OpenApiAuthenticationExtension):
    """Documents the Api-Key header in the OpenAPI schema."""

    target_class = "accounts.auth.ApiKeyAuthentication"
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Api-Key <key>`; keys belong to one organisation.",
        }
