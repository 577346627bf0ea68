"""Answers served from bytes rendered once (docs/api.md, "Conditional requests").

A read whose answer rarely changes (a forecast run, a job) is rendered to JSON once,
kept in the cache with its strong ETag, and answered from those bytes: the same
bytes DRF's JSONRenderer writes for the data, so the body is the contract's to the
byte. ``If-None-Match`` with the current ETag is a 304 without a body.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from django.http import HttpResponse, HttpResponseNotModified
from django.utils.cache import parse_etags
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from errors import NotFound
from httpapi.prefetch import cache_get

JSON = "application/json"


@dataclass(frozen=True)
class Rendered:
    """A rendered answer: its body, its strong ETag and the facts a view needs about it
    without parsing it (the organisation it belongs to, whether it can still change)."""

    organization_id: int
    body: bytes
    etag: str
    final: bool = True


def rendered_json(organization_id: int, data, *, final: bool = True) -> Rendered:
    body = JSONRenderer().render(data)
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    return Rendered(organization_id=organization_id, body=body, etag=etag, final=final)


def rendered_cached_for(key: str, organization_id: int, not_found: str) -> Rendered | None:
    """The rendering cached under ``key`` if it belongs to ``organization_id``, None on
    a miss. An entry of another organisation is the same 404 (``not_found``) as an
    object that does not exist: the organisation is compared before anything of the
    entry is used, so a warm cache answers a stranger exactly as the database would."""
    cached = cache_get(key)
    if not isinstance(cached, Rendered):
        return None
    if cached.organization_id != organization_id:
        raise NotFound(not_found)
    return cached


def _etag_matches(request, etag: str) -> bool:
    header = request.headers.get("If-None-Match", "")
    if not header:
        return False
    # If-None-Match compares weakly (RFC 9110 13.1.2): W/"x" matches "x".
    offered = {tag.removeprefix("W/") for tag in parse_etags(header)}
    return "*" in offered or etag in offered


def rendered_response(request, rendered: Rendered, headers: dict | None = None):
    """The answer for ``rendered``: 304 if the client holds it, else its bytes.

    A client that negotiated anything but plain JSON (the browsable API, an ``indent``
    parameter) gets a normal DRF Response of the same data, rendered its way.
    """
    headers = {"ETag": rendered.etag, **(headers or {})}
    if _etag_matches(request, rendered.etag):
        response = HttpResponseNotModified()
    elif getattr(request, "accepted_media_type", JSON) == JSON:
        response = HttpResponse(rendered.body, content_type=JSON)
    else:
        return Response(json.loads(rendered.body), headers=headers)
    for name, value in headers.items():
        response[name] = value
    return response
