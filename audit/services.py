"""Writes of the audit trail: ``audit_record``, called by the services of every app
that changes something a tenant cares about (cities, uploads, training, promotion,
fleet edits, dispatch) and, for API keys, by audit/receivers.py."""

from __future__ import annotations

import structlog
from django.db import models

from accounts.network import client_ip
from audit.context import current_request
from audit.models import AuditRecord

log = structlog.get_logger(__name__)


def _actor_of(user) -> tuple[str, int | None]:
    if user is None or not getattr(user, "is_authenticated", False):
        return "system", None
    api_key = getattr(user, "api_key", None)
    if api_key is not None:
        return f"api-key:{api_key.prefix}", None
    return f"user:{user.get_username()}", user.pk


def _organization_of(target, user) -> int | None:
    for holder in (target, getattr(target, "city", None)):
        org_id = getattr(holder, "organization_id", None)
        if org_id:
            return org_id
    if isinstance(target, models.Model) and target._meta.label == "accounts.Organization":
        return target.pk
    return getattr(user, "organization_id", None)


def audit_record(
    action: str,
    target: models.Model,
    *,
    user=None,
    organization_id: int | None = None,
    details: dict | None = None,
) -> AuditRecord:
    """Append who did ``action`` ("city.create") to ``target``, when and from where.

    ``user`` defaults to the current request's user; the address and the channel (API
    or admin) come from the current request; without one the channel is the worker.
    """
    request = current_request()
    if user is None and request is not None:
        user = getattr(request, "user", None)
    actor, user_id = _actor_of(user)
    if request is None:
        via, ip = AuditRecord.Via.WORKER, None
    else:
        via = AuditRecord.Via.ADMIN if request.path.startswith("/admin/") else AuditRecord.Via.API
        ip = client_ip(request) or None
    record = AuditRecord.objects.create(
        organization_id=organization_id or _organization_of(target, user),
        user_id=user_id,
        actor=actor[:200],
        action=action,
        object_type=target._meta.label_lower,
        object_id=str(target.pk or ""),
        object_repr=str(target)[:200],
        details=details or {},
        ip=ip,
        via=via,
    )
    log.info("audit", action=action, actor=actor, object=record.object_type, id=record.object_id)
    return record
