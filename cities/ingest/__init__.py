"""Reading and checking observation uploads (CSV or JSON) before anything is written."""

from cities.ingest.errors import InvalidObservationFile, ObservationFileTooLarge
from cities.ingest.parse import observations_file_parse
from cities.ingest.reading import KNOWN_COLUMNS, VALUE_COLUMNS, upload_text_read

__all__ = [
    "KNOWN_COLUMNS",
    "VALUE_COLUMNS",
    "InvalidObservationFile",
    "ObservationFileTooLarge",
    "observations_file_parse",
    "upload_text_read",
]
