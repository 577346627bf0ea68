"""Moving models between apps moves no data.

The release before the layered apps (commit OLD_RELEASE: organisations, cities, jobs and
observations all lived in the forecasts app) fills a fresh database with load_sample and
a row of every other table; this release migrates it. Every row must still be there,
read through the models' new homes, and the content types must follow the models.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import uuid
from io import BytesIO
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent
OLD_RELEASE = "7ee17e6"  # the last commit before accounts/jobs/cities existed

OLD_FILL = """
from django.core.management import call_command
call_command("load_sample", "--weeks", "2", verbosity=0)
from forecasts.models import ApiKey, City, Forecast, ForecastRun, Job, Organization
from training.models import ModelVersion
org = Organization.objects.get(slug="demo")
city = City.objects.get(organization=org)
prefix, raw = ApiKey.generate()
ApiKey.objects.create(
    organization=org, name="scheduler", prefix=prefix, hashed_key=ApiKey.hash(raw)
)
job = Job.objects.create(organization=org, kind="forecast", params={"city": city.pk})
version = ModelVersion.objects.create(city=city, version=1, status="active",
                                      metrics={"model": {"mape": 3.5}}, job=job)
run = ForecastRun.objects.create(city=city, model_version=version, method="catboost",
                                 start=city.last_observation, horizon_hours=1, job=job)
Forecast.objects.create(run=run, city=city, timestamp=city.last_observation,
                        demand=5000, confidence_lower=4500, confidence_upper=5500)
"""

TABLES = [
    "forecasts_organization",
    "forecasts_membership",
    "forecasts_apikey",
    "forecasts_city",
    "forecasts_observation",
    "forecasts_job",
    "forecasts_forecastrun",
    "forecasts_forecast",
    "training_modelversion",
    "optimization_generationsource",
    "optimization_storageunit",
]

NEW_READ = """
import json
from accounts.models import ApiKey, Membership, Organization
from cities.models import City, Observation
from django.contrib.contenttypes.models import ContentType
from forecasts.models import Forecast, ForecastRun
from jobs.models import Job
from optimization.models import GenerationSource, StorageUnit
from training.models import ModelVersion
models = [Organization, Membership, ApiKey, City, Observation, Job, ForecastRun, Forecast,
          ModelVersion, GenerationSource, StorageUnit]
run = ForecastRun.objects.select_related("city__organization", "job", "model_version").get()
print(json.dumps({
    "rows": {m._meta.db_table: m.objects.count() for m in models},
    "run": [run.city.organization.slug, run.job.kind, run.model_version.version],
    "active_model": City.objects.get().active_model,
    "content_types": sorted(f"{c.app_label}.{c.model}" for c in ContentType.objects.filter(
        model__in=["organization", "membership", "apikey", "city", "observation", "job"])),
}))
"""


def _old_release(tmp_path: Path) -> Path:
    """The old release's tree, from this repository's history."""
    archive = subprocess.run(
        ["git", "archive", "--format=tar", OLD_RELEASE], cwd=ROOT, capture_output=True
    )
    if archive.returncode != 0:
        pytest.skip(f"commit {OLD_RELEASE} is not in this checkout's history")
    tree = tmp_path / "old"
    with tarfile.open(fileobj=BytesIO(archive.stdout)) as tar:
        tar.extractall(tree, filter="data")
    return tree


def _database_env(tmp_path: Path):
    """Environment of a fresh database of the suite's kind, and how to drop it."""
    base = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "CACHE_URL")}
    base.update(DJANGO_SETTINGS_MODULE="energy_site.settings", LOG_LEVEL="WARNING")
    base["ENERGY_VAR_DIR"] = str(tmp_path / "var")
    if settings.USING_EMBEDDED_DEFAULTS:
        base.pop("DATABASE_URL", None)
        return base, lambda: None
    import psycopg2

    name = f"ef_migration_{uuid.uuid4().hex[:8]}"
    params = settings.DATABASES["default"]
    server = dict(host=params["HOST"], port=params["PORT"], user=params["USER"], dbname="postgres")
    admin = psycopg2.connect(**server)
    admin.autocommit = True
    admin.cursor().execute(f'CREATE DATABASE "{name}"')
    base["DATABASE_URL"] = f"postgres://{params['USER']}@{params['HOST']}:{params['PORT']}/{name}"

    def drop():
        admin.cursor().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()

    return base, drop


def _manage(tree: Path, env: dict, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=tree, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def _row_counts(tree: Path, env: dict) -> dict:
    code = (
        "import json; from django.db import connection; c = connection.cursor(); "
        f"print(json.dumps({{t: (c.execute(f'SELECT COUNT(*) FROM {{t}}'), c.fetchone()[0])[1] "
        f"for t in {TABLES!r}}}))"
    )
    return json.loads(_manage(tree, env, "shell", "-c", code).strip().splitlines()[-1])


def test_the_layered_apps_migrate_a_filled_database_and_find_every_row(tmp_path):
    old = _old_release(tmp_path)
    env, drop = _database_env(tmp_path)
    try:
        _manage(old, env, "migrate", "--verbosity", "0")
        _manage(old, env, "shell", "-c", OLD_FILL)
        before = _row_counts(old, env)
        assert before["forecasts_observation"] == 2 * 7 * 48  # two weeks, half-hourly
        assert all(before[table] > 0 for table in TABLES)

        _manage(ROOT, env, "migrate", "--verbosity", "0")
        _manage(ROOT, env, "makemigrations", "--check", "--dry-run")
        assert _row_counts(ROOT, env) == before
        after = json.loads(_manage(ROOT, env, "shell", "-c", NEW_READ).strip().splitlines()[-1])
    finally:
        drop()

    assert after["rows"] == before  # every row, read through the models' new apps
    assert after["run"] == ["demo", "forecast", 1]
    assert after["active_model"]["version"] == 1 and after["active_model"]["mape"] == 3.5
    assert after["content_types"] == [
        "accounts.apikey",
        "accounts.membership",
        "accounts.organization",
        "cities.city",
        "cities.observation",
        "jobs.job",
    ]
