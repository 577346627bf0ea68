"""What makes a whole upload unusable (HTTP 400 / 413), as opposed to a rejected row."""

from __future__ import annotations

MAX_ERRORS_LISTED = 50


class InvalidObservationFile(Exception):
    """The file cannot be ingested at all; nothing of it may be written.

    ``errors`` lists ``{"line": n, "reason": ...}`` (CSV, header = line 1) or
    ``{"index": i, "reason": ...}`` (JSON list, 0-based), the first
    ``MAX_ERRORS_LISTED`` of ``errors_total``.
    """

    def __init__(self, message: str, errors: list[dict] | None = None):
        super().__init__(message)
        self.message = message
        self.errors_total = len(errors or [])
        self.errors = (errors or [])[:MAX_ERRORS_LISTED]

    def details(self) -> dict:
        return {"errors": self.errors, "errors_total": self.errors_total}


class ObservationFileTooLarge(Exception):
    def __init__(self, size: int, limit: int):
        super().__init__(f"The file has {size} bytes; the limit is {limit} bytes.")
        self.size = size
        self.limit = limit
