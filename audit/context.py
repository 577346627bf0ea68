"""The request a mutation comes from, for the audit trail: who, from where, through what.

AuditRequestContext (middleware) keeps the current request in a context variable, so
that services record their caller without every signature carrying the request. DRF
sets the authenticated user on the underlying request, so API keys and JWT users are
seen as well as admin sessions. Outside a request (workers, commands) there is none.
"""

from __future__ import annotations

import contextvars

_request: contextvars.ContextVar = contextvars.ContextVar("audit_request", default=None)


def current_request():
    return _request.get()


class AuditRequestContext:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _request.set(request)
        try:
            return self.get_response(request)
        finally:
            _request.reset(token)
