"""Gunicorn's threaded worker with a read timeout on every client socket.

Gunicorn 27's gthread worker waits for a request's first bytes outside its thread pool,
but once a request has started, the thread reading its headers and body blocks on the
socket without limit: a client that sends ``Content-Length: 100`` and three bytes holds
a thread until it goes away (issue 10 measured 30-40 s per client with sync workers,
and three of them blocked the API). Here each read from a client waits at most
``CLIENT_READ_TIMEOUT`` seconds (env ``GUNICORN_CLIENT_READ_TIMEOUT``, 5 by default),
like nginx's ``client_header_timeout`` and ``client_body_timeout``; the stalled request
then ends (Django answers ``400 incomplete_body`` if it was reading the body) and the
thread is free. An idle new connection costs a thread only FIRST_BYTES_WAIT seconds
before it waits in the poller. deploy/gunicorn.conf.py selects this worker; docs/reliability.md has
the measurement.
"""

from __future__ import annotations

import errno
import os

from gunicorn.workers import gthread

CLIENT_READ_TIMEOUT = float(os.environ.get("GUNICORN_CLIENT_READ_TIMEOUT", "5"))
# How long a thread waits for a new connection's first bytes before handing it back to
# the poller (gunicorn waits 5 s: 25 idle connections then hold 25 threads for 5 s).
FIRST_BYTES_WAIT = float(os.environ.get("GUNICORN_FIRST_BYTES_WAIT", "0.25"))


class ReadTimeoutConn(gthread.TConn):
    def wait_for_data(self, timeout):
        return super().wait_for_data(min(timeout, FIRST_BYTES_WAIT))

    def init(self):
        super().init()
        # The worker makes the socket blocking before each request; bound every read.
        self.sock.settimeout(CLIENT_READ_TIMEOUT)


class ReadTimeoutThreadWorker(gthread.ThreadWorker):
    def accept(self, listener):
        try:
            client_sock, client_addr = listener.accept()
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        self.nr_conns += 1
        client_sock.setblocking(True)
        conn = ReadTimeoutConn(self.cfg, client_sock, client_addr, listener.getsockname())
        self.enqueue_req(conn)
