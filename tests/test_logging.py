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


def _last_record(capsys) -> tuple[dict, str]:
    line = capsys.readouterr().err.strip().splitlines()[-1]
    return json.loads(line), line


def test_secrets_in_fields_and_messages_are_redacted(capsys):
    import structlog

    logging.config.dictConfig(configure_logging("INFO", "json"))
    structlog.get_logger("energy.test").warning(
        "connecting to postgres://energy:hunter2-db@db:5432/energy",
        password="hunter2-pw",
        refresh_token="eyJ.refresh.secret",
        headers={"Authorization": "Bearer eyJ.access.secret", "Accept": "text/csv"},
        note="sent Api-Key k3y-s3cret and token=tok-s3cret",
        city="Melbourne",
    )
    record, line = _last_record(capsys)
    for secret in ("hunter2-db", "hunter2-pw", "eyJ.refresh.secret", "eyJ.access.secret"):
        assert secret not in line
    assert "k3y-s3cret" not in line and "tok-s3cret" not in line
    assert record["event"] == "connecting to postgres://energy:[redacted]@db:5432/energy"
    assert record["password"] == "[redacted]" and record["refresh_token"] == "[redacted]"
    assert record["headers"] == {"Authorization": "[redacted]", "Accept": "text/csv"}
    assert record["city"] == "Melbourne"  # what is not a secret stays readable


def test_a_traceback_naming_a_secret_is_redacted(capsys):
    logging.config.dictConfig(configure_logging("INFO", "json"))
    try:
        raise ConnectionError("cannot reach redis://:br0ker-pw@redis:6379/0")
    except ConnectionError:
        logging.getLogger("kombu.test").exception("broker down")
    record, line = _last_record(capsys)
    assert "br0ker-pw" not in line
    assert "redis://:[redacted]@redis:6379/0" in record["exception"]


def test_celery_hands_its_logging_to_the_django_configuration():
    """A worker formats with settings.LOGGING: Celery's setup_logging signal has our
    receiver, so Celery installs no handler of its own (energy_site/worker.py)."""
    from celery.signals import setup_logging

    from energy_site.worker import logging_from_settings

    assert logging_from_settings in [ref() for _, ref in setup_logging.receivers]


def test_each_task_starts_with_a_fresh_log_context_carrying_its_job(db, org, monkeypatch):
    """Issue 10: a forecast batch's lines carried the previous dispatch job's job_id."""
    import structlog
    from celery.signals import task_prerun

    import jobs.services
    from jobs.services import job_create
    from jobs.tasks import jobs_recover
    from training.tasks import train_model

    seen, at_failure = [], []

    def record(**_):
        seen.append(structlog.contextvars.get_contextvars())

    real_fail = jobs.services.job_fail

    def fail_and_record(*args, **kwargs):
        at_failure.append(structlog.contextvars.get_contextvars())
        return real_fail(*args, **kwargs)

    monkeypatch.setattr(jobs.services, "job_fail", fail_and_record)
    job, _ = job_create(organization=org, user=None, kind="train", params={"city": None})
    task_prerun.connect(record)  # runs after the site's receiver, which connected first
    try:
        structlog.contextvars.bind_contextvars(job_id="previous-job", job_kind="optimize")
        train_model.apply(args=[str(job.pk)])  # its city is gone: the job fails
        assert structlog.contextvars.get_contextvars() == {}  # cleared after the task
        structlog.contextvars.bind_contextvars(job_id="previous-job", job_kind="optimize")
        jobs_recover.apply()
    finally:
        task_prerun.disconnect(record)
        structlog.contextvars.clear_contextvars()
    first, second = seen
    assert first["task"] == "training.tasks.train_model" and "job_id" not in first
    assert "job_id" not in second and second["task"] == "jobs.tasks.jobs_recover"
    # Once claimed, the task's lines carry its own job, not the previous one.
    assert at_failure[0]["job_id"] == str(job.pk) and at_failure[0]["job_kind"] == "train"
    assert at_failure[0]["organization"] == org.slug
