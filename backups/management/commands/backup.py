"""`manage.py backup`: the database and the model artifacts in one archive."""

from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from backups.services import BackupError, backup_create


class Command(BaseCommand):
    help = (
        "Write a consistent backup (pg_dump -Fc or the SQLite file, plus every model "
        "artifact the database names) into one archive with a manifest."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--output",
            help="archive file, or a folder for a timestamped name "
            "(default: BACKUP_DIR, else var/backups/)",
        )
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, output=None, no_progress=False, **options):
        target = Path(output or settings.BACKUP_DIR)
        if output is None or target.is_dir() or str(output).endswith("/"):
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
            target = target / f"energy-forecast-{stamp}.tar"
        if target.exists():
            raise CommandError(f"{target} exists: a backup never overwrites another")

        def progress(items):
            items = list(items)
            return tqdm(items, desc="artifacts", unit="file", disable=no_progress or not items)

        try:
            manifest = backup_create(target, progress=progress)
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        size = target.stat().st_size
        self.stdout.write(
            f"backup written: {target} ({size / 1e6:.1f} MB; {manifest['engine']}, "
            f"{len(manifest['rows'])} tables, {sum(manifest['rows'].values())} rows, "
            f"{len(manifest['artifacts'])} model artifacts)"
        )
