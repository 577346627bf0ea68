"""Authentication for people (JWT); machines send ``Authorization: Api-Key <key>``."""

from django.urls import path

from accounts.tokens import TokenObtainApi, TokenRefreshApi

urlpatterns = [
    path("auth/token/", TokenObtainApi.as_view(), name="token-obtain"),
    path("auth/token/refresh/", TokenRefreshApi.as_view(), name="token-refresh"),
]
