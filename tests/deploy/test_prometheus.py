"""deploy/prometheus/ passes promtool's checks and its rule unit tests (Debian's
prometheus package), and the Grafana dashboard is provisioned and reads the figures the
alerts read."""

import json
import shutil
import subprocess
from pathlib import Path

import yaml

from tests.conftest import tool_or_skip

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
PROMETHEUS = DEPLOY / "prometheus"
GRAFANA = DEPLOY / "grafana"


def promtool(*args, cwd=PROMETHEUS) -> subprocess.CompletedProcess:
    return subprocess.run(
        [tool_or_skip("promtool"), *args], cwd=cwd, capture_output=True, text=True, timeout=60
    )


def test_promtool_checks_the_configuration_and_the_rules():
    config = promtool("check", "config", "prometheus.yml")
    assert config.returncode == 0, config.stdout + config.stderr
    rules = promtool("check", "rules", "alerts.yml")
    assert rules.returncode == 0, rules.stdout + rules.stderr


def test_the_alert_rules_pass_their_unit_tests():
    result = promtool("test", "rules", "alerts.test.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_the_rule_tests_fail_when_a_rule_is_wrong(tmp_path):
    """A mutation of one threshold breaks its tests: the unit tests really test."""
    shutil.copy(PROMETHEUS / "alerts.test.yml", tmp_path)
    text = (PROMETHEUS / "alerts.yml").read_text()
    broken = text.replace(
        "energy_forecast_forecast_age_seconds > 26 * 3600",
        "energy_forecast_forecast_age_seconds > 48 * 3600",
    )
    assert broken != text
    (tmp_path / "alerts.yml").write_text(broken)
    result = promtool("test", "rules", "alerts.test.yml", cwd=tmp_path)
    assert result.returncode != 0 and "ForecastStale" in result.stdout + result.stderr


def test_every_alert_the_issue_asks_for_exists_and_has_a_runbook():
    rules = [
        rule
        for group in yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())["groups"]
        for rule in group["rules"]
    ]
    names = {rule["alert"] for rule in rules}
    assert {
        "WorkerDown",
        "QueueBacklog",
        "OldestJobTooOld",
        "JobFailureRate",
        "ForecastStale",
        "LiveMapeDrift",
        "ApiLatencyP99High",
        "Api5xxRate",
        "DatabaseDown",
        "RedisDown",
    } <= names
    operations = (DEPLOY.parent / "docs" / "operations.md").read_text()
    tested = (PROMETHEUS / "alerts.test.yml").read_text()
    for rule in rules:
        anchor = rule["annotations"]["runbook"].split("#")[1]
        assert f"### {rule['alert']}" in operations, f"docs/operations.md lacks {rule['alert']}"
        assert anchor == rule["alert"].lower()
        assert f"alertname: {rule['alert']}" in tested, f"{rule['alert']} has no unit test"


def test_grafana_provisions_the_dashboard_from_prometheus():
    datasource = yaml.safe_load((GRAFANA / "provisioning/datasources/prometheus.yml").read_text())
    (source,) = datasource["datasources"]
    provider = yaml.safe_load((GRAFANA / "provisioning/dashboards/energy-forecast.yml").read_text())
    assert provider["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"
    dashboard = json.loads((GRAFANA / "dashboards/energy-forecast.json").read_text())
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]
    assert len(panels) >= 15 and len({p["id"] for p in dashboard["panels"]}) == len(
        dashboard["panels"]
    )
    for panel in panels:
        assert panel["datasource"]["uid"] == source["uid"]
        assert panel["targets"] and all(t["expr"] for t in panel["targets"])
    exprs = " ".join(t["expr"] for p in panels for t in p["targets"])
    for figure in (
        "energy_forecast_batch_size",
        "energy_forecast_queue_wait_seconds",
        "energy_forecast_inference_seconds",
        "energy_forecast_jobs_finished_total",
        "energy_forecast_training_seconds",
        "energy_forecast_dispatch_solve_seconds",
        "energy_forecast_queue_messages",
        "energy_forecast_queue_oldest_job_age_seconds",
        "energy_forecast_forecast_age_seconds",
        "energy_forecast_model_live_mape_percent",
        "energy_forecast_model_backtest_mape_percent",
        "energy_forecast_dependency_up",
        "django_http_requests_latency_seconds_by_view_method_bucket",
    ):
        assert figure in exprs, figure
