"""A bounded schemathesis run against the live schema, authenticated (issue 10): no
request may get a 5xx. The full run is bench/schema_fuzz.py (docs/reliability.md)."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.needs_server
def test_fuzzing_the_live_schema_finds_no_server_error():
    result = subprocess.run(
        [sys.executable, "bench/schema_fuzz.py", "--max-examples", "3", "--phases", "fuzzing",
         "--checks", "not_a_server_error"],
        cwd=ROOT, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-4000:]
