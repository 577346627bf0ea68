"""Where a request comes from: the client address, trusting proxy headers only from the
proxies named in TRUSTED_PROXY_NETWORKS (none by default).

Every per-address decision (anonymous and login throttles, the login lockout, API key
allow-lists, the audit trail) reads the address from here, so a client cannot pick its
own address with an ``X-Forwarded-For`` header unless it *is* a configured proxy.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
FORWARDED_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_HOST")


@lru_cache(maxsize=8)
def networks_parse(networks: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(item, strict=False) for item in networks)


def address_in(address: str, networks) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    return any(ip in network for network in networks_parse(tuple(networks)))


def is_trusted_proxy(address: str) -> bool:
    return bool(settings.TRUSTED_PROXY_NETWORKS) and address_in(
        address, settings.TRUSTED_PROXY_NETWORKS
    )


def client_ip(request) -> str:
    """The client's address: the peer, or, when the peer is a trusted proxy, the last
    address in X-Forwarded-For that is not itself a trusted proxy."""
    meta = request.META
    peer = meta.get("REMOTE_ADDR", "") or ""
    if not is_trusted_proxy(peer):
        return peer
    hops = [hop.strip() for hop in meta.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    for hop in reversed(hops):
        if not is_trusted_proxy(hop):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return peer  # a malformed header from a proxy: fall back to the proxy
    return peer


def client_ip_for_axes(request) -> str:
    """django-axes' AXES_CLIENT_IP_CALLABLE: the same address the throttles use."""
    return client_ip(request)
