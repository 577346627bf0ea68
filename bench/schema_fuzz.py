"""Fuzz the live OpenAPI schema with schemathesis, authenticated (issue 10).

Starts gunicorn (deploy/gunicorn.conf.py) on the embedded defaults in a temporary
folder (SQLite, filesystem broker: jobs are queued, never run), loads the sample
organisation, signs in, and runs ``schemathesis run`` against /api/schema/ with every
check: no answer may be a 5xx, and every answer must match the schema. Prints
schemathesis' summary and exits with its status.

    .venv/bin/python bench/schema_fuzz.py [--max-examples 20] [--checks all]

Stops only the gunicorn it started (by process group). tests/test_schema_fuzz.py runs a
small budget of it in the suite.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--max-examples", type=int, default=20)
    parser.add_argument("--checks", default="all")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--seed", type=int, default=10)
    parser.add_argument("--phases", default="examples,coverage,fuzzing,stateful")
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="ef-fuzz-"))
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.pop("CACHE_URL", None)
    env.update(
        ENERGY_VAR_DIR=str(work),
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        LOG_LEVEL="ERROR",
        # The fuzzer sends thousands of requests: no rate limit may answer them.
        API_THROTTLE_RATE="1000000/min",
        ORGANIZATION_THROTTLE_RATE="1000000/min",
        ANONYMOUS_THROTTLE_RATE="1000000/min",
        LOGIN_THROTTLE_RATE="1000000/min",
        LOGIN_FAILURE_LIMIT="1000000",
    )
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
    subprocess.run([*manage, "load_sample", "--weeks", "4", "--password", "fuzz-pass"],
                   cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)  # fmt: skip
    port = args.port or free_port()
    base = f"http://127.0.0.1:{port}"
    web = subprocess.Popen(
        [str(BIN / "gunicorn"), "-c", "deploy/gunicorn.conf.py", "energy_site.wsgi",
         "-b", f"127.0.0.1:{port}", "--graceful-timeout", "2"],
        cwd=ROOT, env=env, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(base + "/health/live", timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit("fuzz: gunicorn did not start") from None
                time.sleep(0.3)
        request = urllib.request.Request(
            base + "/api/v1/auth/token/",
            data=json.dumps({"username": "demo", "password": "fuzz-pass"}).encode(),
            headers={"Content-Type": "application/json"},
        )
        token = json.loads(urllib.request.urlopen(request, timeout=30).read())["access"]
        command = [
            str(BIN / "schemathesis"), "run", f"{base}/api/schema/",
            "-H", f"Authorization: Bearer {token}",
            "--checks", args.checks, "--max-examples", str(args.max_examples),
            "--seed", str(args.seed), "--request-timeout", "30", "--workers", "1",
            "--generation-deterministic", "--phases", args.phases,
        ]  # fmt: skip
        return subprocess.run(command, cwd=work).returncode
    finally:
        os.killpg(web.pid, signal.SIGTERM)
        try:
            web.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(web.pid, signal.SIGKILL)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
