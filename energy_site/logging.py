"""Structured JSON logs (structlog), one object a line, for the web and the workers alike.

Web lines carry the request id (``RequestIdMiddleware``); a job's lines in a worker carry
its job id, kind, organisation and the id of the request that created it
(``jobs/services.py:job_run``). Celery hands its logging over to this configuration
(``energy_site/celery.py``), so a worker writes the same JSON. Secrets never reach a
line: ``redact_secrets`` runs on every record, ours and third parties' alike.
"""

import logging
import re
import uuid

import structlog

from httpapi.request_id import current_request_id

REDACTED = "[redacted]"
# Keys whose values are secrets whatever they hold (matched case-insensitively, anywhere
# in the key: "db_password", "refresh_token", "HTTP_AUTHORIZATION", ...).
SECRET_KEY_PATTERN = re.compile(
    r"passw(or)?d|passphrase|secret|token|authori[sz]ation|api[_-]?key|cookie|session|csrf|dsn",
    re.IGNORECASE,
)
SECRET_TEXT_PATTERNS = [
    # user:password@ in a URL (DATABASE_URL, REDIS_URL, a broker error message).
    (re.compile(r"(?P<keep>[a-z][a-z0-9+.-]*://[^:/?#@\s]*:)[^@\s/]+@", re.IGNORECASE), "@"),
    # Authorization header values quoted in a message: Bearer/Api-Key/Basic credentials.
    (re.compile(r"(?P<keep>\b(?:Bearer|Api-Key|Basic)\s+)[A-Za-z0-9._~+/=-]+"), ""),
    # key=value and "key": "value" pairs naming a secret.
    (
        re.compile(
            r"(?P<keep>[\"']?\b[\w-]*(?:password|secret|token|api[_-]?key)[\w-]*[\"']?"
            r"\s*[:=]\s*[\"']?)[^\"'\s,;&}]+",
            re.IGNORECASE,
        ),
        "",
    ),
]


def _redact_text(text: str) -> str:
    for pattern, tail in SECRET_TEXT_PATTERNS:
        text = pattern.sub(lambda m, tail=tail: m.group("keep") + REDACTED + tail, text)
    return text


def _redact(value, depth: int = 0):
    if depth > 4:
        return value
    if isinstance(value, str):
        return _redact_text(value)
    if isinstance(value, dict):
        return {
            key: REDACTED
            if isinstance(key, str) and SECRET_KEY_PATTERN.search(key)
            else _redact(item, depth + 1)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [_redact(item, depth + 1) for item in value]
    return value


def redact_secrets(logger, method_name, event_dict):
    """structlog processor: no password, token, key or credential in a URL is written."""
    return _redact(event_dict)


def configure_logging(level: str, fmt: str) -> dict:
    shared = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    # Python warnings (deprecations, Celery's "running as root") become log records too,
    # so that a worker's output is JSON lines only.
    logging.captureWarnings(True)
    renderer = (
        structlog.dev.ConsoleRenderer(colors=False)
        if fmt == "console"
        else structlog.processors.JSONRenderer()
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "structured": {
                "()": structlog.stdlib.ProcessorFormatter,
                "processors": [
                    structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    # Render exc_info as a text traceback; JSON would print the object.
                    structlog.processors.format_exc_info,
                    # Last before rendering, so that tracebacks are redacted too.
                    redact_secrets,
                    renderer,
                ],
                "foreign_pre_chain": shared,
            }
        },
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "structured"}},
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "django.db.backends": {"level": "WARNING"},
            "celery": {"level": level},
            # The filesystem transport (embedded defaults) warns about a hostname it
            # does not use on every connection.
            "kombu.connection": {"level": "ERROR"},
        },
    }


# A client's X-Request-ID is kept if it is 1-64 visible ASCII characters (what nginx's
# $request_id, a UUID or a trace id look like); anything else is replaced, so that it can
# be echoed in a header, stored on a job and logged unchanged.
REQUEST_ID_PATTERN = re.compile(r"[\x21-\x7e]{1,64}")


class RequestIdMiddleware:
    """Bind a request id (taken from X-Request-ID or made up) to every log line."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        offered = request.headers.get("X-Request-ID", "")
        request_id = offered if REQUEST_ID_PATTERN.fullmatch(offered) else uuid.uuid4().hex
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        token = current_request_id.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            current_request_id.reset(token)
        response["X-Request-ID"] = request_id
        return response
