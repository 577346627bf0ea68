"""`manage.py restore ARCHIVE`: load a backup into an empty database, then verify it."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from backups.services import BackupError, backup_restore


class Command(BaseCommand):
    help = (
        "Restore a `manage.py backup` archive into the (empty) database of DATABASE_URL "
        "and the artifact storage of MEDIA_ROOT, then check rows, checksums and that every "
        "active model loads."
    )
    requires_migrations_checks = False

    def add_arguments(self, parser):
        parser.add_argument("archive")
        parser.add_argument(
            "--keep-cache", action="store_true", help="do not clear the cache afterwards"
        )
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, archive, keep_cache=False, no_progress=False, **options):
        source = Path(archive)
        if not source.is_file():
            raise CommandError(f"{source} is not a file")

        def progress(items):
            items = list(items)
            return tqdm(items, desc="artifacts", unit="file", disable=no_progress or not items)

        try:
            report = backup_restore(source, clear_cache=not keep_cache, progress=progress)
        except BackupError as exc:
            raise CommandError(f"restore refused: {exc}") from None
        self.stdout.write(
            f"restored the backup of {report['created_at']}: {report['tables']} tables, "
            f"{report['rows']} rows (as in the manifest), {report['artifacts']} model "
            f"artifacts ({report['artifacts_written']} written, checksums verified), "
            f"{report['active_models_loaded']} active models load"
            + (", cache cleared" if report["cache_cleared"] else "")
        )
        self.stdout.write(
            "next: manage.py migrate (a no-op for the same release), start the workers, "
            "manage.py warm_cache (docs/operations.md, Recovery)"
        )
