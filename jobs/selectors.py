"""Reads of jobs, always scoped to the caller's organisation."""

from __future__ import annotations

import uuid

from django.db.models import QuerySet

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
