"""Reading and checking observation uploads (CSV or JSON) before anything is written."""

from cities.ingest.errors import InvalidObservationFile, ObservationFileTooLarge
from cities.ingest.parse import observations_file_parse
from cities.ingest.reading import (
    KNOWN_COLUMNS,
    VALUE_COLUMNS,
    json_upload_shape_check,
    looks_like_json,
    upload_text_read,
)

__all__ = [
    "KNOWN_COLUMNS",
    "VALUE_COLUMNS",
    "InvalidObservationFile",
    "ObservationFileTooLarge",
    "observations_file_parse",
    "json_upload_shape_check",
    "looks_like_json",
    "upload_text_read",
]
