"""The worker writes the web's JSON, one object a line, each job's lines naming the job,
its kind, its organisation and the request that created it; no process of the stack
writes a secret."""

import json

import pytest

from tests.deploy.processes import http, wait_until

pytestmark = pytest.mark.needs_server


def _records(text: str) -> list[dict]:
    records = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            raise AssertionError(f"line {number} is not JSON: {line[:300]!r}") from None
    return records


def test_every_worker_line_is_a_json_object(stack):
    records = _records(stack.processes["worker"].output())
    assert len(records) > 10
    assert all(isinstance(r, dict) and {"event", "level", "timestamp"} <= set(r) for r in records)
    # Celery's own lines (task received, succeeded) come through the same formatter.
    assert any(r.get("logger", "").startswith("celery") for r in records)


@pytest.mark.parametrize("kind", ["ingest", "train", "forecast", "optimize"])
def test_a_jobs_lines_carry_its_id_kind_organisation_and_request(stack, kind):
    job = stack.jobs[kind]
    mine = [r for r in _records(stack.processes["worker"].output()) if r.get("job_id") == job["id"]]
    assert mine, f"no worker line names the {kind} job"
    assert any(r["event"] == "job_succeeded" for r in mine)
    for record in mine:
        assert record["job_kind"] == kind
        assert record["organization"] == "demo"
        assert record["request_id"] == stack.request_ids[kind]


def test_the_web_logs_json_with_the_request_id_nginx_passed_on(stack):
    answer = http("GET", f"{stack.base}/api/v1/cities/", headers={"X-Request-ID": "web-log-1"})
    assert answer.status == 401

    def logged():
        for name in ("web0", "web1"):
            for line in stack.processes[name].output().splitlines():
                if line.startswith("{") and '"web-log-1"' in line:
                    return json.loads(line)
        return None

    record = wait_until(logged, 10, "the web's log line")
    assert record["logger"] == "django.request" and record["level"] == "warning"


def test_no_process_writes_a_secret(stack):
    logs = stack.logs()
    assert {"worker", "web0", "web1", "web0-access", "exporter", "nginx", "redis"} <= set(logs)
    nginx_access = (stack.folder / "nginx" / "access.log").read_text()
    assert stack.request_ids["forecast"] in nginx_access  # the same id, nginx to worker
    logs["nginx-access"] = nginx_access
    for name in ("worker", "web0", "web1", "exporter", "nginx-access"):
        assert logs[name], f"the {name} log is empty: the test would prove nothing"
    for name, text in logs.items():
        for secret_name, value in stack.secrets.items():
            assert value not in text, f"{secret_name} appears in the {name} log"
