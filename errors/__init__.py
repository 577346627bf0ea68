"""The domain's errors: what services, selectors and numeric code raise.

Every failure a client (or a job's poller) should read is a :class:`DomainError` with a
machine-readable ``code``, a sentence ``message`` and JSON ``details``. Nothing here
knows HTTP: ``httpapi/exceptions.py`` maps each class to its status code in one table,
and ``jobs/services.py`` records any DomainError raised inside a job as the job's error.
This module imports nothing of the project, so the numeric core (training's model code,
the dispatch LP's inputs) can raise these too.
"""

from __future__ import annotations


class DomainError(Exception):
    """A failure caused by the request or the data, not by a bug."""

    code = "error"

    def __init__(self, message: str, *, code: str | None = None, details: dict | None = None):
        super().__init__(message)
        self.message = message
        self.code = code or type(self).code
        self.details = details or {}


class InvalidInput(DomainError):
    """The input is malformed or out of range."""

    code = "invalid"


class PermissionDenied(DomainError):
    """The caller is known but may not do this."""

    code = "permission_denied"


class NotFound(DomainError):
    """No such object, or one of another organisation (the two are indistinguishable)."""

    code = "not_found"


class Conflict(DomainError):
    """The request clashes with what is stored (a duplicate name, a finished job)."""

    code = "conflict"


class TooLarge(DomainError):
    """The input is larger than the service accepts."""

    code = "too_large"


class UnsupportedMediaType(DomainError):
    """The input comes in a format the service does not read."""

    code = "unsupported_media_type"


class Unprocessable(DomainError):
    """Well-formed input that cannot be acted on (too little data, clashing constraints)."""

    code = "unprocessable"


class RateLimited(DomainError):
    """Too much at once; ``details["retry_after_seconds"]`` says when to come back."""

    code = "throttled"


class BacklogFull(RateLimited):
    """Too many requests of the organisation are already queued."""

    code = "backlog_full"


class Unavailable(DomainError):
    """A dependency (the broker, the database) is down; retrying later will work."""

    code = "unavailable"


__all__ = [
    "BacklogFull",
    "Conflict",
    "DomainError",
    "InvalidInput",
    "NotFound",
    "PermissionDenied",
    "RateLimited",
    "TooLarge",
    "Unavailable",
    "Unprocessable",
    "UnsupportedMediaType",
]
