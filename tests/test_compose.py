"""docker-compose.yml holds the full stack and parses (Docker itself does not run here:
Debian's docker-compose validates the file without a daemon)."""

import subprocess
from pathlib import Path

import yaml

from tests.conftest import tool_or_skip

COMPOSE = Path(__file__).resolve().parent.parent / "docker-compose.yml"


def test_the_stack_has_every_process():
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    assert {"postgres", "redis-broker", "redis-cache", "web", "beat", "flower"} <= set(services)
    assert {"nginx", "exporter", "prometheus", "grafana"} <= set(services)
    for queue in ("inference", "training", "optimization"):
        command = services[f"worker-{queue}"]["command"]
        assert command[command.index("-Q") + 1] == queue
    assert "noeviction" in services["redis-broker"]["command"]
    assert "allkeys-lru" in services["redis-cache"]["command"]
    assert "--basic-auth" in " ".join(services["flower"]["command"])


def test_nginx_is_the_only_way_to_the_web_replicas():
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    web = services["web"]
    assert "ports" not in web and web["deploy"]["replicas"] == 3
    assert "deploy/gunicorn.conf.py" in web["command"]
    assert web["environment"]["PROMETHEUS_MULTIPROC_DIR"] in web["tmpfs"]
    mounts = " ".join(services["nginx"]["volumes"])
    assert "deploy/nginx/energy-forecast.conf:/etc/nginx/conf.d/default.conf" in mounts
    assert "deploy/nginx/json-errors.conf:/etc/nginx/energy-forecast/json-errors.conf" in mounts
    assert "static:/srv/static" in mounts  # the folder energy-forecast.conf serves
    assert "collectstatic" in " ".join(services["migrate"]["command"])


def test_prometheus_and_grafana_read_the_files_of_deploy():
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    root = COMPOSE.parent
    for service in ("prometheus", "grafana", "nginx"):
        for mount in services[service]["volumes"]:
            source = mount.split(":")[0]
            if source.startswith("./"):
                assert (root / source).exists(), f"{service} mounts a missing {source}"
    prometheus = yaml.safe_load((root / "deploy/prometheus/prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in prometheus["scrape_configs"]}
    workers = [t for c in jobs["energy-forecast-worker"]["static_configs"] for t in c["targets"]]
    for queue in ("inference", "training", "optimization"):
        environment = services[f"worker-{queue}"]["environment"]
        assert f"worker-{queue}:{environment['WORKER_METRICS_PORT']}" in workers
    exporter = services["exporter"]["command"]
    port = exporter[exporter.index("--port") + 1]
    assert jobs["energy-forecast-exporter"]["static_configs"][0]["targets"] == [f"exporter:{port}"]


def _config(path: Path) -> subprocess.CompletedProcess:
    compose = tool_or_skip("docker-compose")
    return subprocess.run(
        [compose, "-f", str(path), "config", "-q"], capture_output=True, text=True, timeout=60
    )


def test_compose_config_parses():
    result = _config(COMPOSE)
    assert result.returncode == 0, result.stderr


def test_the_parser_rejects_a_broken_file(tmp_path):
    broken = tmp_path / "docker-compose.yml"
    text = COMPOSE.read_text().replace("services:", "services:\n  oops:\n    ports: 8000\n", 1)
    broken.write_text(text)
    result = _config(broken)
    assert result.returncode != 0 and "oops" in result.stderr
