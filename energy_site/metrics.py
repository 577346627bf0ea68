"""/metrics for Prometheus, internal only (docs/architecture.md, Security).

Served to private and loopback addresses, or to anyone presenting
``METRICS_BEARER_TOKEN``; everyone else gets a 403. Behind a proxy that forwards
public traffic, set the token (REMOTE_ADDR is then the proxy's address).
"""

import ipaddress
import secrets

from django.conf import settings
from django.http import JsonResponse
from django_prometheus.exports import ExportToDjangoView

from httpapi.exceptions import error_body


def _allowed(request) -> bool:
    token = settings.METRICS_BEARER_TOKEN
    if token:
        offered = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        return secrets.compare_digest(offered.encode(), token.encode())
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(net) for net in settings.METRICS_ALLOWED_NETWORKS)


def metrics(request):
    if not _allowed(request):
        return JsonResponse(
            error_body("permission_denied", "Metrics are served on the internal network only."),
            status=403,
        )
    return ExportToDjangoView(request)
