"""Backup and restore of the whole service state: the database and the model artifacts.

``backup_create`` dumps the database (one consistent snapshot), copies every model
artifact the dump refers to and writes both into one archive with a manifest
(backups/archive.py). ``backup_restore`` loads an archive into an empty database and
the artifact storage, then checks what it restored: the rows of every table against the
manifest, every artifact's checksum, and that each active model loads. The recovery
plan that uses them is docs/operations.md, Recovery.
"""

from __future__ import annotations

import hashlib
import platform
import tempfile
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path

from django.core.cache import cache
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import connection
from django.db.migrations.loader import MigrationLoader

from backups import archive, database
from backups.database import DatabaseToolError
from forecasts.services import forecasts_schedule_day_ahead
from jobs.models import Job
from training.artifacts import artifact_load
from training.models import ModelVersion

Progress = Callable[[Iterable], Iterable]


class BackupError(Exception):
    """A backup or a restore that cannot go on; the message says why and what to do."""


def _no_progress(items: Iterable) -> Iterable:
    return items


def _storage_sha256(name: str) -> str:
    digest = hashlib.sha256()
    with default_storage.open(name, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def backup_create(target: Path, *, progress: Progress = _no_progress) -> dict:
    """Write a backup archive to ``target``; return its manifest."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        kind = database.engine()
    except DatabaseToolError as exc:
        raise BackupError(str(exc)) from None
    with tempfile.TemporaryDirectory(prefix="energy-backup-") as folder:
        dump = Path(folder) / Path(archive.DATABASE_MEMBERS[kind]).name
        try:
            facts = database.database_dump(dump)
        except DatabaseToolError as exc:
            raise BackupError(str(exc)) from None
        members = {archive.DATABASE_MEMBERS[kind]: dump}
        missing = []
        # After the dump: an artifact is written before the row naming it commits, so
        # every artifact the snapshot names exists by now.
        for name in progress(facts.artifacts):
            if not default_storage.exists(name):
                missing.append(name)
                continue
            copy = Path(folder) / "media" / name
            copy.parent.mkdir(parents=True, exist_ok=True)
            with default_storage.open(name, "rb") as source, open(copy, "wb") as out:
                for block in iter(lambda source=source: source.read(1 << 20), b""):
                    out.write(block)
            members[f"media/{name}"] = copy
        if missing:
            raise BackupError(
                f"{len(missing)} model artifacts named by the database are missing from "
                f"storage (first: {missing[0]}); nothing was written"
            )
        manifest = {
            "created_at": datetime.now(UTC).isoformat(),
            "engine": kind,
            "database": {"name": Path(str(connection.settings_dict["NAME"])).name},
            "dump_tool": database.tool_version("pg_dump") if kind == "postgresql" else "sqlite3",
            "python": platform.python_version(),
            "rows": facts.rows,
            "migrations": facts.migrations,
            "artifacts": facts.artifacts,
        }
        archive.archive_write(target, manifest, members)
    return archive.manifest_read(target)


def _migrations_known(manifest: dict) -> None:
    """Refuse a backup made by a newer release: this code could not run its schema."""
    on_disk = MigrationLoader(None, ignore_no_migrations=True).disk_migrations
    unknown = [
        f"{app}.{name}"
        for app, names in manifest["migrations"].items()
        for name in names
        if (app, name) not in on_disk
    ]
    if unknown:
        raise BackupError(
            f"the backup's database has migrations this release does not know ({unknown[:5]}"
            f"{'...' if len(unknown) > 5 else ''}): restore it with the release that made it"
        )


def backup_restore(
    source: Path, *, clear_cache: bool = True, progress: Progress = _no_progress
) -> dict:
    """Load ``source`` into the empty database and the artifact storage, then verify.

    Everything that can refuse does so before anything is written: another engine, a
    newer release, a damaged archive, a database that is not empty, an artifact already
    in storage with other content. Returns a report of what was restored and checked.
    """
    source = Path(source)
    try:
        manifest = archive.manifest_read(source)
        kind = database.engine()
    except (archive.ArchiveError, DatabaseToolError) as exc:
        raise BackupError(str(exc)) from None
    if manifest["engine"] != kind:
        raise BackupError(
            f"the backup holds a {manifest['engine']} database and this service runs on "
            f"{kind}: point DATABASE_URL at a {manifest['engine']} database"
        )
    _migrations_known(manifest)
    if not database.database_is_empty():
        raise BackupError(
            "the database is not empty: restore loads only into an empty database "
            "(create one, point DATABASE_URL at it, and run restore again)"
        )
    with tempfile.TemporaryDirectory(prefix="energy-restore-") as folder:
        try:
            files = archive.archive_extract(source, manifest, Path(folder))
        except archive.ArchiveError as exc:
            raise BackupError(str(exc)) from None
        media = {
            name.removeprefix("media/"): path
            for name, path in files.items()
            if name.startswith("media/")
        }
        clashes = [
            name
            for name in manifest["artifacts"]
            if default_storage.exists(name)
            and _storage_sha256(name) != manifest["members"][f"media/{name}"]["sha256"]
        ]
        if clashes:
            raise BackupError(
                f"{len(clashes)} artifacts already in storage differ from the backup's "
                f"(first: {clashes[0]}): restore into an empty MEDIA_ROOT"
            )
        try:
            database.database_load(files[archive.DATABASE_MEMBERS[kind]])
        except DatabaseToolError as exc:
            raise BackupError(str(exc)) from None
        written = 0
        for name in progress(manifest["artifacts"]):
            if default_storage.exists(name):
                continue  # the same bytes (checked above)
            with open(media[name], "rb") as handle:
                saved = default_storage.save(name, File(handle))
            if saved != name:
                raise BackupError(f"storage saved {name} as {saved}")
            written += 1
    return _restore_verify(manifest, written=written, clear_cache=clear_cache)


def _restore_verify(manifest: dict, *, written: int, clear_cache: bool) -> dict:
    rows = database.database_rows()
    differ = {
        table: (count, rows.get(table))
        for table, count in manifest["rows"].items()
        if rows.get(table) != count
    }
    if differ:
        raise BackupError(f"restored row counts differ from the manifest: {differ}")
    for name in manifest["artifacts"]:
        if _storage_sha256(name) != manifest["members"][f"media/{name}"]["sha256"]:
            raise BackupError(f"restored artifact {name} does not match its checksum")
    active = list(ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE))
    for model_version in active:
        artifact_load(model_version)  # raises if an active model cannot serve
    if clear_cache:
        # Rendered runs are cached by id: after going back in time an id may name a
        # different run, so nothing cached before the restore may be served.
        cache.clear()
    return {
        "created_at": manifest["created_at"],
        "engine": manifest["engine"],
        "tables": len(rows),
        "rows": sum(rows.values()),
        "artifacts": len(manifest["artifacts"]),
        "artifacts_written": written,
        "active_models_loaded": len(active),
        "cache_cleared": clear_cache,
    }


def cache_warm(*, wait_seconds: float, poll: float = 1.0) -> dict:
    """After a restore: load every active model here (it must), then ask the workers for
    each active city's day-ahead forecast (the scheduler's own request), which loads the
    models into the inference workers' caches and makes every city's forecast fresh.
    Waits up to ``wait_seconds`` for those jobs (0: do not wait)."""
    active = list(ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE))
    for model_version in active:
        artifact_load(model_version)
    jobs = forecasts_schedule_day_ahead()
    ids = [job.pk for job in jobs]
    deadline = time.monotonic() + wait_seconds
    states = {}
    while True:
        states = dict(Job.objects.filter(pk__in=ids).values_list("pk", "state"))
        pending = [pk for pk, state in states.items() if state not in Job.FINISHED_STATES]
        if not pending or time.monotonic() >= deadline:
            break
        time.sleep(poll)
    counts: dict[str, int] = {}
    for state in states.values():
        counts[state] = counts.get(state, 0) + 1
    errors = sorted(
        {
            f"city {job.params.get('city')}: {(job.error or {}).get('message', '')}"
            for job in Job.objects.filter(pk__in=ids, state=Job.State.FAILED)
        }
    )
    return {
        "active_models_loaded": len(active),
        "forecast_jobs": len(ids),
        "states": counts,
        "errors": errors,
    }
