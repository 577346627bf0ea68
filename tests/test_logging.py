"""Logs are JSON lines that keep the request id and the whole traceback."""

import json
import logging
import logging.config

from energy_site.logging import configure_logging


def test_json_logs_carry_the_traceback(capsys):
    logging.config.dictConfig(configure_logging("INFO", "json"))
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("energy.test").exception("it failed")
    line = capsys.readouterr().err.strip().splitlines()[-1]
    record = json.loads(line)
    assert record["event"] == "it failed" and record["level"] == "error"
    assert "Traceback" in record["exception"] and "ValueError: boom" in record["exception"]


def test_responses_carry_a_request_id(client):
    response = client.get("/health/live", HTTP_X_REQUEST_ID="abc123")
    assert response["X-Request-ID"] == "abc123"
    assert len(client.get("/health/live")["X-Request-ID"]) == 32


def test_each_task_starts_with_a_fresh_log_context_carrying_its_job(db):
    """Issue 10: a forecast batch's lines carried the previous dispatch job's job_id."""
    import structlog
    from celery.signals import task_prerun

    from jobs.tasks import jobs_recover
    from optimization.tasks import optimize_dispatch

    seen = []

    def record(**_):
        seen.append(structlog.contextvars.get_contextvars())

    task_prerun.connect(record)  # runs after the site's receiver, which connected first
    try:
        structlog.contextvars.bind_contextvars(job_id="previous-job", job_kind="optimize")
        optimize_dispatch.apply(args=["7a737424-718a-4e5b-a1d2-2966b7897673"])
        assert structlog.contextvars.get_contextvars() == {}  # cleared after the task
        structlog.contextvars.bind_contextvars(job_id="previous-job", job_kind="optimize")
        jobs_recover.apply()
    finally:
        task_prerun.disconnect(record)
        structlog.contextvars.clear_contextvars()
    first, second = seen
    assert first["job_id"] == "7a737424-718a-4e5b-a1d2-2966b7897673"
    assert first["task"] == "optimization.tasks.optimize_dispatch" and "job_kind" not in first
    assert "job_id" not in second and second["task"] == "jobs.tasks.jobs_recover"
