"""Machine clients authenticate with ``Authorization: Api-Key <key>``."""

from django.contrib.auth.models import AnonymousUser
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from accounts.models import ApiKey


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
