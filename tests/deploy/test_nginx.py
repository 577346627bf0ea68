"""Debian's nginx with deploy/nginx/ in front of two real gunicorn replicas: the API
through the proxy, static files, nginx's own errors in the envelope, the token rate
limit, and slow clients held by nginx instead of gunicorn's sync workers."""

import socket
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.deploy.conftest import NGINX_ERRORS_PORT, NGINX_PORT, WEB_PORTS
from tests.deploy.processes import http, http_json, raw_request

pytestmark = pytest.mark.needs_server


def test_the_api_answers_through_nginx_with_one_request_id(stack):
    index = http("GET", f"{stack.base}/api/v1/", headers={"X-Request-ID": "trace-me-1"})
    assert index.status == 200
    assert index.headers["X-Request-ID"] == "trace-me-1"
    links = index.json()
    assert links["cities"] == f"{stack.base}/api/v1/cities/"
    assert {"auth_token", "forecasts", "dispatch", "jobs", "models", "docs"} <= set(links)
    cities = http_json("GET", links["cities"], token=stack.token)
    assert cities.status == 200 and cities.json()["results"][0]["name"] == "Melbourne"
    # The application's own errors pass through untouched.
    missing = http_json("GET", f"{stack.base}/api/v1/cities/999999/", token=stack.token)
    assert missing.status == 404 and missing.json()["error"]["code"] == "not_found"
    anonymous = http_json("GET", links["cities"])
    assert anonymous.status == 401 and anonymous.json()["error"]["code"] == "not_authenticated"
    # nginx makes an id up when the client sends none, and gunicorn logs the same one.
    made_up = http("GET", f"{stack.base}/health/live").headers["X-Request-ID"]
    assert len(made_up) == 32


def test_least_conn_spreads_requests_over_both_replicas(stack):
    before = [
        (stack.folder / "logs" / f"web{i}-access.log").read_text().count("\n") for i in (0, 1)
    ]
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: http("GET", f"{stack.base}/api/v1/").status, range(40)))
    assert answers == [200] * 40
    after = [(stack.folder / "logs" / f"web{i}-access.log").read_text().count("\n") for i in (0, 1)]
    served = [a - b for a, b in zip(after, before, strict=True)]
    assert sum(served) == 40 and min(served) >= 5, served


def test_static_files_come_from_nginx(stack):
    answer = http("GET", f"{stack.base}/static/admin/css/base.css")
    assert answer.status == 200 and b"body" in answer.body
    assert answer.headers["Content-Type"].startswith("text/css")
    sidecar = http(
        "GET", f"{stack.base}/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js"
    )
    assert sidecar.status == 200 and len(sidecar.body) > 100_000
    for index in (0, 1):
        assert "/static/" not in (stack.folder / "logs" / f"web{index}-access.log").read_text()


def test_metrics_are_not_served_to_the_public_side(stack):
    answer = http("GET", f"{stack.base}/metrics")
    assert answer.status == 404 and answer.json()["error"]["code"] == "not_found"


def _assert_envelope(status, headers, body, code, expected_code):
    import json

    assert status == code, (status, body[:200])
    assert headers["content-type"][0].startswith("application/json")
    error = json.loads(body)["error"]
    assert error["code"] == expected_code and error["message"] and "details" in error
    return error


def test_a_body_over_the_limit_is_a_json_413_before_it_is_sent(stack):
    status, headers, body = raw_request(
        NGINX_PORT,
        b"POST /api/v1/cities/1/observations/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: text/csv\r\nContent-Length: 30000000\r\nConnection: close\r\n\r\n",
    )
    error = _assert_envelope(status, headers, body, 413, "too_large")
    assert error["details"]["limit_bytes"] == 21 * 1024 * 1024


def test_a_uri_over_8_kib_is_a_json_414(stack):
    path = "/api/v1/cities/?q=" + "x" * 9000
    status, headers, body = raw_request(
        NGINX_PORT, f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode()
    )
    _assert_envelope(status, headers, body, 414, "uri_too_long")


def test_no_replica_is_a_json_502_and_a_silent_one_a_json_504(stack):
    for path, code, expected in (("/dead/x", 502, "unavailable"), ("/silent/x", 504, "timeout")):
        status, headers, body = raw_request(
            NGINX_ERRORS_PORT,
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode(),
        )
        _assert_envelope(status, headers, body, code, expected)


def test_the_token_endpoint_is_rate_limited_per_address(stack):
    """10 a minute and a burst of 5 per address: the 7th quick attempt is refused by nginx.
    From 127.0.0.3, so that the other tests' address keeps its budget."""
    request = (
        b"POST /api/v1/auth/token/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\n"
        b'Content-Length: 37\r\nConnection: close\r\n\r\n{"username":"demo","password":"nope"}'
    )
    statuses = []
    for _ in range(8):
        status, headers, body = raw_request(NGINX_PORT, request, source="127.0.0.3")
        statuses.append(status)
    assert statuses[:6] == [401] * 6, statuses
    assert statuses[6:] == [429, 429], statuses
    _assert_envelope(status, headers, body, 429, "throttled")
    assert headers["retry-after"] == ["6"]
    # Another address is not affected.
    ok = http_json(
        "POST", f"{stack.base}/api/v1/auth/token/", {"username": "demo", "password": "nope"}
    )
    assert ok.status == 401


def _slow_clients(port: int, count: int, sources=("127.0.0.1",)) -> list[socket.socket]:
    """Clients that announce a 100-byte login and send 3 bytes of it. The token endpoint
    reads its body before anything else (no authentication to fail first)."""
    clients = []
    for number in range(count):
        sock = socket.create_connection(
            ("127.0.0.1", port), timeout=5, source_address=(sources[number % len(sources)], 0)
        )
        sock.sendall(
            b"POST /api/v1/auth/token/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"u'
        )
        clients.append(sock)
    return clients


def test_slow_clients_are_held_by_nginx_not_by_gunicorn(stack):
    # Control: two slow clients straight at one replica take both of its sync workers.
    direct = _slow_clients(WEB_PORTS[0], 2)
    try:
        time.sleep(0.5)
        with pytest.raises(OSError):  # a timeout: nobody is free to answer
            http("GET", f"{stack.web[0]}/health/live", timeout=2)
    finally:
        for sock in direct:
            sock.close()
    # Through nginx, three times as many slow clients as there are gunicorn workers
    # change nothing: nginx buffers each body and sends gunicorn only whole requests.
    # (From addresses of their own: the token endpoint's rate limit is per address.)
    sources = [f"127.0.1.{n}" for n in range(1, 13)]
    held = _slow_clients(NGINX_PORT, 12, sources)
    try:
        time.sleep(0.5)
        started = time.monotonic()
        for _ in range(10):
            assert http("GET", f"{stack.base}/api/v1/", timeout=5).status == 200
        assert time.monotonic() - started < 5
    finally:
        for sock in held:
            sock.close()
