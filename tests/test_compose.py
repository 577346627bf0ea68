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
    for queue in ("inference", "training", "optimization"):
        command = services[f"worker-{queue}"]["command"]
        assert command[command.index("-Q") + 1] == queue
    assert "noeviction" in services["redis-broker"]["command"]
    assert "allkeys-lru" in services["redis-cache"]["command"]
    assert "--basic-auth" in " ".join(services["flower"]["command"])


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
