"""The id of the HTTP request being answered, for code that records it (a job keeps the
request that created it: jobs/services.py). Set by energy_site/logging.py's
RequestIdMiddleware for the duration of the request only, so that work done outside a
request (the scheduler, a command, a worker) never inherits an earlier request's id."""

from contextvars import ContextVar

current_request_id: ContextVar[str] = ContextVar("current_request_id", default="")
