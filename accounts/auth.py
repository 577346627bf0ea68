"""How clients authenticate: people with a JWT whose password stamp still matches
(accounts/tokens.py), machines with ``Authorization: Api-Key <key>``, optionally only
from the key's networks."""

from django.contrib.auth.models import AnonymousUser
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken

from accounts.models import ApiKey
from accounts.network import address_in, client_ip
from accounts.password_stamps import token_matches_password


class PasswordStampedJWTAuthentication(JWTAuthentication):
    """simplejwt's JWT authentication, refusing tokens issued before the last password
    change (their ``pwd`` stamp no longer matches)."""

    def get_user(self, validated_token):
        user = super().get_user(validated_token)
        if not token_matches_password(validated_token, user):
            raise InvalidToken("The token was revoked: the password changed since it was issued.")
        return user


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
        key = (
            ApiKey.objects.select_related("organization")
            .filter(hashed_key=ApiKey.hash(raw), revoked=False)
            .first()
        )
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
