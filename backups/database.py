"""Dumping and loading the database, PostgreSQL (pg_dump / pg_restore) or SQLite.

A dump is consistent: PostgreSQL's comes from one snapshot (pg_dump ``--snapshot`` of a
repeatable-read transaction that also counts every table's rows and lists the model
artifacts, so the counts and the artifact list describe exactly what was dumped);
SQLite's is a copy made with SQLite's online backup API. Credentials reach pg_dump and
pg_restore through their environment (PGPASSWORD), never their command line.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from django.db import connection, transaction

ARTIFACT_QUERY = (
    "SELECT artifact FROM training_modelversion WHERE artifact IS NOT NULL AND artifact <> ''"
)
MIGRATIONS_QUERY = "SELECT app, name FROM django_migrations"


@dataclass
class DumpFacts:
    """What one dump holds, read from the dumped snapshot itself."""

    rows: dict[str, int]  # table -> rows
    artifacts: list[str]  # storage names of the model artifacts the rows refer to
    migrations: dict[str, list[str]]  # app -> applied migrations


def _facts(cursor, tables: list[str]) -> DumpFacts:
    cursor.execute(ARTIFACT_QUERY)
    artifacts = sorted(row[0] for row in cursor.fetchall())
    cursor.execute(MIGRATIONS_QUERY)
    migrations: dict[str, list[str]] = {}
    for app, name in cursor.fetchall():
        migrations.setdefault(app, []).append(name)
    return DumpFacts(
        rows=table_rows(cursor, tables),
        artifacts=artifacts,
        migrations={app: sorted(names) for app, names in sorted(migrations.items())},
    )


class DatabaseToolError(Exception):
    """pg_dump or pg_restore is missing or failed (its own message, credentials masked)."""


def engine() -> str:
    vendor = connection.vendor
    if vendor not in ("postgresql", "sqlite"):
        raise DatabaseToolError(f"backups support PostgreSQL and SQLite, not {vendor}")
    return vendor


def table_rows(cursor, tables: list[str]) -> dict[str, int]:
    counts = {}
    for table in sorted(tables):
        cursor.execute(f'SELECT COUNT(*) FROM "{table}"')  # names from the catalogue
        counts[table] = cursor.fetchone()[0]
    return counts


def _pg_environment() -> dict:
    settings = connection.settings_dict
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    for variable, key in (
        ("PGHOST", "HOST"),
        ("PGPORT", "PORT"),
        ("PGUSER", "USER"),
        ("PGPASSWORD", "PASSWORD"),
        ("PGDATABASE", "NAME"),
    ):
        if settings.get(key):
            env[variable] = str(settings[key])
    return env


def _pg_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise DatabaseToolError(
            f"{name} is not installed (Debian: apt-get install postgresql-client-15)"
        )
    return path


def _run(command: list[str], env: dict) -> str:
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    except OSError as exc:
        raise DatabaseToolError(f"{command[0]} could not run: {exc}") from None
    if done.returncode != 0:
        raise DatabaseToolError(
            f"{Path(command[0]).name} failed ({done.returncode}): {done.stderr.strip()[-2000:]}"
        )
    return done.stdout


def tool_version(name: str) -> str:
    return _run([_pg_tool(name), "--version"], os.environ.copy()).strip()


@contextmanager
def _snapshot() -> Iterator[tuple[object, str]]:
    """A PostgreSQL transaction whose reads all see one moment, and the id that lets
    pg_dump read the same moment."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        cursor.execute("SELECT pg_export_snapshot()")
        yield cursor, cursor.fetchone()[0]


def database_dump(target: Path) -> DumpFacts:
    """Dump the database to ``target``; return what the dump holds."""
    if engine() == "postgresql":
        pg_dump = _pg_tool("pg_dump")
        with _snapshot() as (cursor, snapshot_id):
            facts = _facts(cursor, connection.introspection.table_names(cursor))
            _run(
                [
                    pg_dump,
                    "--format=custom",
                    "--no-owner",
                    "--no-privileges",
                    f"--snapshot={snapshot_id}",
                    f"--file={target}",
                ],
                _pg_environment(),
            )
        return facts
    source = sqlite3.connect(connection.settings_dict["NAME"])
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)  # SQLite's online backup: a consistent copy while others write
    finally:
        source.close()
    try:
        cursor = copy.cursor()
        cursor.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
        return _facts(cursor, [row[0] for row in cursor.fetchall()])
    finally:
        copy.close()


def database_is_empty() -> bool:
    """No table at all: what a restore needs (it never writes over data)."""
    if engine() == "sqlite":
        name = connection.settings_dict["NAME"]
        if not Path(name).exists() or Path(name).stat().st_size == 0:
            return True
    with connection.cursor() as cursor:
        return not connection.introspection.table_names(cursor)


def database_load(dump: Path) -> None:
    """Load a dump of the same engine into the (empty) database."""
    if engine() == "postgresql":
        connection.close()
        _run(
            [
                _pg_tool("pg_restore"),
                "--no-owner",
                "--no-privileges",
                "--exit-on-error",
                "--single-transaction",
                f"--dbname={connection.settings_dict['NAME']}",
                str(dump),
            ],
            _pg_environment(),
        )
        return
    connection.close()
    target = Path(connection.settings_dict["NAME"])
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(dump, target)


def database_rows() -> dict[str, int]:
    with connection.cursor() as cursor:
        return table_rows(cursor, connection.introspection.table_names(cursor))
