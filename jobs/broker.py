"""What the watchdog asks the broker: how deep a queue is, and whether the broker lost
its messages (restarted empty) since the last look.

Both go through kombu's transport-neutral calls (a passive queue declare, a simple
queue), so they work on Redis and on the embedded filesystem broker alike. Any error
answers "unknown" (None): the watchdog then falls back to its time rules.
"""

from __future__ import annotations

import structlog

log = structlog.get_logger(__name__)

# A queue no worker consumes, holding one message. A broker that restarted without
# persistence comes back without it: every queued job's message is gone too.
EPOCH_QUEUE = "jobs.broker-epoch"


def _connection(app):
    conn = app.connection_for_write()
    conn.ensure_connection(max_retries=1, timeout=2)
    return conn


def broker_queue_depth(app, queue: str) -> int | None:
    """Messages waiting in ``queue`` (None if the broker cannot say)."""
    try:
        with _connection(app) as conn:
            try:
                _, count, _ = conn.default_channel.queue_declare(queue=queue, passive=True)
            except conn.channel_errors:
                return 0  # an empty queue does not exist on Redis
            return int(count)
    except Exception as exc:  # the watchdog must keep running whatever the broker does
        log.warning("broker_queue_depth_unknown", queue=queue, error=str(exc)[:200])
        return None


def broker_lost_messages(app) -> bool | None:
    """True once after the broker came back empty; the marker is then put back.

    The first look at a fresh broker also answers True, which only makes the watchdog
    re-send queued jobs once (a duplicate message is harmless: claims compare-and-set).
    """
    try:
        with _connection(app) as conn:
            marker = conn.SimpleQueue(EPOCH_QUEUE)
            try:
                try:
                    present = marker.qsize() > 0
                except conn.channel_errors:
                    present = False
                if not present:
                    marker.put({"marker": "broker epoch"})
                return not present
            finally:
                marker.close()
    except Exception as exc:
        log.warning("broker_epoch_unknown", error=str(exc)[:200])
        return None
