"""Reads of jobs, scoped to the caller's organisation (operators' metrics read all)."""

from __future__ import annotations

import uuid
from datetime import datetime

from django.db.models import Count, Min, QuerySet

from accounts.selectors import require_organization_id
from errors import NotFound
from jobs.models import Job


def jobs_for_user(user) -> QuerySet[Job]:
    return Job.objects.filter(organization_id=require_organization_id(user))


def job_get_for_user(user, job_id) -> Job:
    """The job if it belongs to the user's organisation; 404 otherwise (also for ids
    that are not UUIDs)."""
    try:
        return jobs_for_user(user).get(pk=uuid.UUID(str(job_id)))
    except (Job.DoesNotExist, ValueError):
        raise NotFound("No such job.") from None


def jobs_queued_by_kind() -> dict[str, tuple[int, datetime]]:
    """For operators' metrics, every organisation: kind -> (queued jobs, oldest created)."""
    rows = (
        Job.objects.filter(state=Job.State.QUEUED)
        .values("kind")
        .annotate(count=Count("pk"), oldest=Min("created_at"))
        .order_by()
    )
    return {row["kind"]: (row["count"], row["oldest"]) for row in rows}
