"""/api/docs/ renders with the network off: headless Chromium (Debian's /usr/bin/chromium)
loads Swagger UI through nginx with every host name but 127.0.0.1 unresolvable, and
the page lists every operation of the schema."""

import re
import subprocess

import pytest

from tests.conftest import tool_or_skip
from tests.deploy.processes import http

pytestmark = pytest.mark.needs_server

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # The network is off: any name but the local server fails to resolve, so a page that
    # still reached for a CDN would stay blank.
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
    # Let the page's scripts run (and fetch the schema) before the DOM is printed.
    "--virtual-time-budget=20000",
]


def test_swagger_ui_lists_every_operation_offline(stack, tmp_path):
    chromium = tool_or_skip("chromium")
    schema = http("GET", f"{stack.base}/api/schema/?format=json").json()
    expected = {
        (method.upper(), path)
        for path, operations in schema["paths"].items()
        for method in operations
        if method in {"get", "post", "put", "patch", "delete"}
    }
    page = subprocess.run(
        [
            chromium,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={tmp_path / 'profile'}",
            "--dump-dom",
            f"{stack.base}/api/docs/",
        ],
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert page.returncode == 0, page.stderr[-2000:]
    dom = page.stdout
    listed = set(
        re.findall(
            r'opblock-summary-method">(\w+)</span>.*?data-path="([^"]+)"', dom, flags=re.DOTALL
        )
    )
    assert expected and listed == expected, (sorted(expected - listed), sorted(listed - expected))
