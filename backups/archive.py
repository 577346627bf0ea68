"""The backup archive: one tar file holding a manifest, the database and the artifacts.

Layout (docs/operations.md, Backups)::

    manifest.json              what the archive holds, with a SHA-256 of every member
    database/postgresql.dump   pg_dump -Fc of the database (PostgreSQL), or
    database/sqlite3.db        a copy of the SQLite file made with SQLite's backup API
    media/<artifact name>      each model artifact the database refers to

Nothing here knows Django: the services hand it files and dictionaries.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import time
from pathlib import Path, PurePosixPath

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
DATABASE_MEMBERS = {"postgresql": "database/postgresql.dump", "sqlite": "database/sqlite3.db"}


class ArchiveError(Exception):
    """The archive is not one this code wrote, or it was damaged."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def member_name_check(name: str) -> str:
    """A member name that stays inside the extraction folder (no absolute path, no ..)."""
    path = PurePosixPath(name)
    if not name or path.is_absolute() or ".." in path.parts or "\\" in name:
        raise ArchiveError(f"unsafe member name in the archive: {name!r}")
    return name


def archive_write(target: Path, manifest: dict, members: dict[str, Path]) -> None:
    """Write ``members`` (archive name -> file) and the manifest, checksums included.

    Written to ``target`` with a ``.partial`` suffix and renamed when complete, so a
    crash never leaves a file that looks like a finished backup.
    """
    manifest = {**manifest, "format": FORMAT_VERSION, "members": {}}
    for name, path in members.items():
        member_name_check(name)
        manifest["members"][name] = {"bytes": path.stat().st_size, "sha256": sha256_of(path)}
    partial = target.with_name(target.name + ".partial")
    with tarfile.open(partial, "w") as tar:
        blob = json.dumps(manifest, indent=2, sort_keys=True).encode()
        info = tarfile.TarInfo(MANIFEST)
        info.size, info.mode, info.mtime = len(blob), 0o600, int(time.time())
        tar.addfile(info, io.BytesIO(blob))
        for name, path in members.items():
            tar.add(path, arcname=name, recursive=False)
    partial.replace(target)


def manifest_read(archive: Path) -> dict:
    try:
        with tarfile.open(archive, "r") as tar:
            handle = tar.extractfile(MANIFEST)
            if handle is None:
                raise KeyError(MANIFEST)
            manifest = json.load(handle)
    except (tarfile.TarError, KeyError, json.JSONDecodeError, OSError) as exc:
        raise ArchiveError(f"{archive} is not a backup archive ({exc})") from None
    if manifest.get("format") != FORMAT_VERSION:
        raise ArchiveError(
            f"{archive} has archive format {manifest.get('format')!r}; this release reads "
            f"format {FORMAT_VERSION}"
        )
    return manifest


def archive_extract(archive: Path, manifest: dict, folder: Path) -> dict[str, Path]:
    """Extract the members the manifest lists into ``folder``, each checked against its
    SHA-256; any other member, or a damaged one, is an ArchiveError."""
    expected = manifest["members"]
    found: dict[str, Path] = {}
    with tarfile.open(archive, "r") as tar:
        for info in tar:
            if info.name == MANIFEST:
                continue
            member_name_check(info.name)
            if info.name not in expected or not info.isfile():
                raise ArchiveError(f"unexpected member in the archive: {info.name!r}")
            path = folder / info.name
            path.parent.mkdir(parents=True, exist_ok=True)
            source = tar.extractfile(info)
            with open(path, "wb") as out:
                for block in iter(lambda source=source: source.read(1 << 20), b""):
                    out.write(block)
            if sha256_of(path) != expected[info.name]["sha256"]:
                raise ArchiveError(f"{info.name} does not match its checksum: damaged archive")
            found[info.name] = path
    missing = sorted(set(expected) - set(found))
    if missing:
        raise ArchiveError(f"the archive lacks members its manifest lists: {missing}")
    return found
