"""docker-compose.yml holds the full stack (Docker itself does not run in CI)."""

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

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


@pytest.mark.skipif(not shutil.which("docker-compose"), reason="docker-compose not installed")
def test_compose_config_parses():
    subprocess.run(["docker-compose", "-f", str(COMPOSE), "config", "-q"], check=True)
