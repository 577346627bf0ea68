"""Gunicorn's configuration: `gunicorn -c deploy/gunicorn.conf.py energy_site.wsgi`.

Chosen so that slow and idle clients cannot block the API even without a proxy in
front (docs/reliability.md, "Slow clients", has the measurement and the command):

- threaded workers (energy_site/gunicorn_worker.py): an idle connection waits in the
  worker's poller, not in a thread; a started request whose client stops sending frees
  its thread after GUNICORN_CLIENT_READ_TIMEOUT seconds (5) per read;
- 2 workers x 32 threads: more threads than the 50 slow clients of bench/chaos.py, so
  the few seconds they hold a thread never starve the others (threads waiting on a
  socket or on PostgreSQL cost no CPU; each may keep one database connection);
- threads are also what makes long polls (``GET /jobs/{id}/?wait=N``, up to
  JOB_WAIT_MAX_SECONDS = 30 s) safe: a held request blocks one thread, not a worker,
  and ``timeout`` watches the worker, not the request (docs/api.md, "Waiting for a
  job"); with sync workers each wait would hold a whole worker;
- keep-alive 5 s, so idle browsers let go; ``timeout`` restarts a worker whose threads
  are all stuck for 30 s;
- every error gunicorn answers itself (400, 414 URI too long, 431) is the API's JSON
  envelope, not an HTML page.

Every value can be overridden with the GUNICORN_* variable named beside it.
"""

import gc
import json
import os

from gunicorn import util

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
worker_class = "energy_site.gunicorn_worker.ReadTimeoutThreadWorker"
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "32"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
# Connections one worker holds open at most (idle ones included).
worker_connections = int(os.environ.get("GUNICORN_WORKER_CONNECTIONS", "1000"))
# Believe X-Forwarded-Proto only from the proxies the application trusts (none by
# default); accounts/network.py applies the same list inside Django.
forwarded_allow_ips = os.environ.get("TRUSTED_PROXY_NETWORKS", "")
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "warning")

_CODES = {400: "invalid", 403: "permission_denied", 414: "uri_too_long", 431: "too_large"}


def _json_error(sock, status_int, reason, mesg):
    """gunicorn.util.write_error, answering the error envelope of docs/api.md."""
    body = json.dumps(
        {
            "error": {
                "code": _CODES.get(status_int, "invalid" if status_int < 500 else "internal_error"),
                "message": f"{reason}: {mesg}" if mesg else reason,
                "details": {},
            }
        }
    ).encode()
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode("latin1")
    util.write_nonblock(sock, head + body)


# The workers call util.write_error for the errors gunicorn answers before Django runs;
# this configuration file is gunicorn's one hook for them.
util.write_error = _json_error

# Prometheus multiprocess mode (deploy/gunicorn_metrics.py): the master empties the
# samples directory before forking, and marks each worker that exits dead.
from deploy.gunicorn_metrics import child_exit, on_starting  # noqa: E402,F401

# gunicorn 27 opens a control socket under $HOME by default; containers and the tests
# run without a writable home, and nothing here uses it.
control_socket_disable = True


def post_worker_init(worker):
    """Import every view, then move everything allocated so far out of the collector's
    reach (``gc.freeze``): Django, the apps and their modules never die, and a full
    collection walked all of them, about 200 000 objects and 40 to 90 ms here with the
    worker's every thread stopped: the tail of the response times under load
    (docs/benchmarks.md, "Serving at load"). Collections now walk only what requests
    allocate. GUNICORN_GC_FREEZE=0 turns it off."""
    if os.environ.get("GUNICORN_GC_FREEZE", "1") == "0":
        return
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 (imports the URLconf and every view now)
    gc.collect()
    gc.freeze()
