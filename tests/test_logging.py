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
