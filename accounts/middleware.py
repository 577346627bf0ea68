"""Middleware of the accounts app."""

from __future__ import annotations

from accounts.network import FORWARDED_HEADERS, is_trusted_proxy


class UntrustedProxyHeadersStrip:
    """Drop X-Forwarded-For/-Proto/-Host unless the peer is a configured proxy.

    Runs first, so nothing later (SECURE_PROXY_SSL_HEADER, redirects, throttles, the
    login lockout) can be fooled by a client that sends these headers itself: with
    TRUSTED_PROXY_NETWORKS empty (the default) they are always dropped.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not is_trusted_proxy(request.META.get("REMOTE_ADDR", "") or ""):
            for header in FORWARDED_HEADERS:
                request.META.pop(header, None)
        return self.get_response(request)
