"""What makes a whole upload unusable (HTTP 400 / 413), as opposed to a rejected row."""

from __future__ import annotations

from errors import InvalidInput, TooLarge

MAX_ERRORS_LISTED = 50


class InvalidObservationFile(InvalidInput):
    """The file cannot be ingested at all; nothing of it may be written.

    ``errors`` lists ``{"line": n, "reason": ...}`` (CSV, header = line 1) or
    ``{"index": i, "reason": ...}`` (JSON list, 0-based), the first
    ``MAX_ERRORS_LISTED`` of ``errors_total``.
    """

    code = "invalid_file"

    def __init__(self, message: str, errors: list[dict] | None = None):
        self.errors_total = len(errors or [])
        self.errors = (errors or [])[:MAX_ERRORS_LISTED]
        super().__init__(
            message, details={"errors": self.errors, "errors_total": self.errors_total}
        )


class ObservationFileTooLarge(TooLarge):
    """``size`` is None when reading stopped at the limit (a gzip is not unpacked in full)."""

    def __init__(self, size: int | None, limit: int, message: str | None = None):
        super().__init__(
            message or f"The file has {size} bytes; the limit is {limit} bytes.",
            details={"limit_bytes": limit},
        )
        self.size = size
        self.limit = limit

    @classmethod
    def decompressed(cls, limit: int) -> ObservationFileTooLarge:
        return cls(
            None, limit, f"The file's decompressed content exceeds the limit of {limit} bytes."
        )
