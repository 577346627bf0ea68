"""Gunicorn as deployed (deploy/gunicorn.conf.py): slow and idle clients do not block the
API, and the errors gunicorn answers itself are JSON (issue 10)."""

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        ENERGY_VAR_DIR=str(tmp_path_factory.mktemp("var")),
        GUNICORN_CLIENT_READ_TIMEOUT="2",
    )
    gunicorn = Path(sys.executable).parent / "gunicorn"
    process = subprocess.Popen(
        [str(gunicorn), "-c", "deploy/gunicorn.conf.py", "energy_site.wsgi",
         "-b", f"127.0.0.1:{port}", "--graceful-timeout", "2"],
        cwd=ROOT, env=env, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(base + "/health/live", timeout=2)
            break
        except OSError:
            time.sleep(0.2)
    yield port, base
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


def test_fifty_slow_and_idle_clients_do_not_block_the_api(server):
    port, base = server
    slow = []
    try:
        for i in range(50):
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            if i % 2 == 0:  # a body that never arrives in full; the others stay idle
                sock.sendall(
                    b"POST /api/v1/auth/token/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    b'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"u'
                )
            slow.append(sock)
        time.sleep(0.3)
        latencies = []
        for _ in range(30):
            started = time.perf_counter()
            urllib.request.urlopen(base + "/health/live", timeout=10).read()
            latencies.append(time.perf_counter() - started)
        assert max(latencies) < 1.0, latencies
        # A stalled body is dropped after the read timeout, not held for minutes.
        slow[0].settimeout(10)
        answer = slow[0].recv(4096)
        assert answer == b"" or b" 400 " in answer.split(b"\r\n")[0]
    finally:
        for sock in slow:
            sock.close()


def test_a_request_line_too_long_is_a_json_414(server):
    _, base = server
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(base + "/api/v1/cities/?q=" + "a" * 5000, timeout=10)
    assert raised.value.code == 414
    assert raised.value.headers["Content-Type"] == "application/json"
    assert json.loads(raised.value.read())["error"]["code"] == "uri_too_long"
