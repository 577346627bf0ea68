"""`manage.py backup` and `manage.py restore`: a stack with a trained model and forecasts,
backed up, restored into a new database and a new artifact folder, gives identical rows
and an identical forecast from the restored model; whatever cannot be restored safely is
refused before anything is written."""

from __future__ import annotations

import io
import json
import os
import sqlite3
import subprocess
import sys
import tarfile
from pathlib import Path

import dj_database_url
import pandas as pd
import psycopg2
import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from backups.archive import MANIFEST
from forecasts.services import ForecastSpec, forecast_run_store
from training.artifacts import artifact_cache_clear
from training.inference import ForecastRequest, forecast_many
from training.models import ModelVersion
from training.services import model_version_train

ROOT = Path(__file__).resolve().parents[2]
START = "2014-12-29T13:00:00Z"  # Melbourne's midnight of 30 December
FORECAST_SCRIPT = """
import json, pandas as pd
from cities.models import City
from training.inference import ForecastRequest, forecast_many
city = City.objects.get(name="Melbourne")
(result,) = forecast_many([ForecastRequest(key=1, city=city, start=pd.Timestamp("%s"),
                                           horizon_hours=24, quantiles=(0.05, 0.5, 0.95))])
print(json.dumps({"model_version": result.model_version.version, "method": result.method,
                  "values": {str(q): v.tolist() for q, v in result.values.items()}}))
"""


def _forecast(city) -> dict:
    (result,) = forecast_many(
        [
            ForecastRequest(
                key=1,
                city=city,
                start=pd.Timestamp(START),
                horizon_hours=24,
                quantiles=(0.05, 0.5, 0.95),
            )
        ]
    )
    return result


def _table_rows(dbname: str) -> dict[str, list]:
    conn = psycopg2.connect(dbname=dbname, **_server())
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")
            tables = [row[0] for row in cursor.fetchall()]
            rows = {}
            for table in tables:
                cursor.execute(f'SELECT * FROM "{table}" ORDER BY 1')
                rows[table] = cursor.fetchall()
        return rows
    finally:
        conn.close()


def _server() -> dict:
    url = dj_database_url.parse(os.environ["DATABASE_URL"])
    return {"host": url["HOST"], "port": url["PORT"] or 5432, "user": url["USER"]}


@pytest.fixture
def trained(settings, tmp_path, city_with_history):
    settings.TRAINING_ITERATIONS = 60
    settings.TRAINING_BACKTEST_DAYS = 7
    settings.TRAINING_CALIBRATION_DAYS = 7
    settings.TRAINING_REFIT_DAYS = 7
    settings.TRAINING_FAMILIES = ["catboost-no-weather", "seasonal-naive"]
    settings.MEDIA_ROOT = tmp_path / "media"
    artifact_cache_clear()
    model_version = model_version_train(city=city_with_history)
    assert model_version.status == ModelVersion.Status.ACTIVE
    result = _forecast(city_with_history)
    spec = ForecastSpec(
        city=city_with_history,
        start=pd.Timestamp(START),
        horizon_hours=24,
        quantiles=(0.05, 0.5, 0.95),
    )
    forecast_run_store(job=None, spec=spec, result=result)
    yield city_with_history, result
    artifact_cache_clear()


@pytest.fixture
def empty_database():
    name = f"{dj_database_url.parse(os.environ['DATABASE_URL'])['NAME']}_restore"
    admin = psycopg2.connect(dbname="postgres", **_server())
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{name}"')
    yield name
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


def _manage(env: dict, *args: str, script: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        input=script,
        capture_output=True,
        text=True,
        timeout=180,
    )


@pytest.mark.needs_server
@pytest.mark.django_db(transaction=True)
def test_a_restored_backup_has_identical_rows_and_forecasts_the_same(
    trained, empty_database, tmp_path
):
    city, before = trained
    archive = tmp_path / "backup.tar"
    call_command("backup", output=str(archive), no_progress=True, stdout=io.StringIO())

    with tarfile.open(archive) as tar:
        manifest = json.load(tar.extractfile(MANIFEST))
        members = set(tar.getnames())
    (artifact,) = manifest["artifacts"]
    assert members == {MANIFEST, "database/postgresql.dump", f"media/{artifact}"}
    assert manifest["engine"] == "postgresql"
    assert manifest["rows"]["training_modelversion"] == 1
    assert manifest["rows"]["forecasts_forecast"] == 48
    assert "jobs" in manifest["migrations"]

    url = dj_database_url.parse(os.environ["DATABASE_URL"])
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{url['USER']}@{url['HOST']}:{url['PORT'] or 5432}/"
        f"{empty_database}",
        "MEDIA_ROOT": str(tmp_path / "restored-media"),
        "LOG_LEVEL": "WARNING",
    }
    restored = _manage(env, "restore", str(archive), "--no-progress")
    assert restored.returncode == 0, restored.stderr
    assert "1 active models load" in restored.stdout
    assert (tmp_path / "restored-media" / artifact).read_bytes() == (
        Path(city.model_versions.get().artifact.path).read_bytes()
    )

    source = _table_rows(connection.settings_dict["NAME"])
    copy = _table_rows(empty_database)
    assert set(copy) == set(source)
    for table in source:
        assert copy[table] == source[table], table

    # The restored model, read from the restored folder by a process of its own, forecasts
    # exactly what the original did.
    after = _manage(env, "shell", script=FORECAST_SCRIPT % START)
    assert after.returncode == 0, after.stderr
    answer = json.loads(after.stdout.strip().splitlines()[-1])
    assert answer["model_version"] == 1 and answer["method"] == before.method
    assert answer["values"] == {str(q): v.tolist() for q, v in before.values.items()}

    # A restore into a database that holds data is refused and changes nothing.
    with pytest.raises(CommandError, match="not empty"):
        call_command("restore", str(archive), no_progress=True)
    assert _table_rows(connection.settings_dict["NAME"]) == source


def _damaged_copy(archive: Path, target: Path) -> Path:
    """The same archive with one byte of the database dump flipped."""
    with tarfile.open(archive) as source, tarfile.open(target, "w") as out:
        for info in source:
            data = source.extractfile(info).read()
            if info.name.startswith("database/"):
                middle = len(data) // 2
                data = data[:middle] + bytes([data[middle] ^ 0xFF]) + data[middle + 1 :]
            out.addfile(info, io.BytesIO(data))
    return target


SQLITE_BACKUP = """
from django.core.management import call_command
from accounts.models import Organization
from tests.factories import make_city, make_owner
call_command("migrate", verbosity=0)
org = Organization.objects.create(name="Victoria Power", slug="vic")
make_owner(org)
make_city(org)
call_command("backup", output="%s", no_progress=True)
"""
SQLITE_RESTORES = """
import io
from django.core.management import CommandError, call_command
for archive in ("%s", "%s", "%s"):
    try:
        call_command("restore", archive, no_progress=True, stdout=io.StringIO())
        print("restored")
    except CommandError as exc:
        print("refused:", exc)
"""


@pytest.mark.django_db
def test_sqlite_backup_round_trip_and_refusals(tmp_path):
    """The embedded default: the SQLite file, restored into a new file; a damaged archive,
    a database that is not empty and another engine are refused."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL", "CACHE_URL", "PROMETHEUS_MULTIPROC_DIR")
    }
    env.update(ENERGY_VAR_DIR=str(tmp_path / "var"), LOG_LEVEL="WARNING")
    original, archive = tmp_path / "original.sqlite3", tmp_path / "sqlite-backup.tar"
    done = _manage({**env, "SQLITE_PATH": str(original)}, "shell", script=SQLITE_BACKUP % archive)
    assert done.returncode == 0, done.stderr
    damaged = _damaged_copy(archive, tmp_path / "damaged.tar")

    restored = tmp_path / "restored.sqlite3"
    done = _manage(
        {**env, "SQLITE_PATH": str(restored)},
        "shell",
        script=SQLITE_RESTORES % (damaged, archive, archive),
    )
    assert done.returncode == 0, done.stderr
    first, second, third = done.stdout.strip().splitlines()[-3:]
    assert first.startswith("refused:") and "checksum" in first  # nothing was written
    assert second == "restored"
    assert third.startswith("refused:") and "not empty" in third

    def dump(path):
        with sqlite3.connect(path) as db:
            tables = [
                r[0]
                for r in db.execute(
                    "SELECT name FROM sqlite_master WHERE type='table' ORDER BY name"
                )
            ]
            return {t: db.execute(f'SELECT * FROM "{t}" ORDER BY 1').fetchall() for t in tables}

    copy = dump(restored)
    assert copy == dump(original) and copy["forecasts_city"]
    if connection.vendor == "postgresql":
        with pytest.raises(CommandError, match="holds a sqlite database"):
            call_command("restore", str(archive), no_progress=True)


def test_restore_refuses_an_archive_that_is_not_a_backup(tmp_path):
    bogus = tmp_path / "bogus.tar"
    with tarfile.open(bogus, "w") as tar:
        info = tarfile.TarInfo("../../etc/passwd")
        info.size = 4
        tar.addfile(info, io.BytesIO(b"evil"))
    with pytest.raises(CommandError, match="not a backup archive"):
        call_command("restore", str(bogus), no_progress=True)
    with pytest.raises(CommandError, match="is not a file"):
        call_command("restore", str(tmp_path / "missing.tar"))
