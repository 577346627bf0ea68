"""Import a CSV or JSON observations file synchronously (the API's checks, no queue)."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from cities.ingest import InvalidObservationFile, observations_file_parse
from cities.selectors import city_for_operator
from cities.services import observations_upsert
from errors import DomainError


def report_summary(report: dict) -> list[str]:
    ref_key = "line" if report["format"] == "csv" else "index"
    lines = [
        f"rows read {report['rows_read']}, accepted {report['rows_accepted']}, "
        f"rejected {report['rows_rejected']}, duplicates dropped {report['duplicates_dropped']}",
        f"period {report['first_timestamp']} .. {report['last_timestamp']}",
    ]
    lines += [
        f"  rejected {ref_key} {item[ref_key]}: {item['reason']}" for item in report["rejected"]
    ]
    lines += [f"  warning {w['code']}: {w['message']}" for w in report["warnings"]]
    return lines


class Command(BaseCommand):
    help = "Check and upsert observations from a CSV or JSON file (optionally gzipped)."

    def add_arguments(self, parser):
        parser.add_argument("file", help="CSV or JSON file; .gz is unpacked")
        parser.add_argument("--city", required=True, help="city id or name")
        parser.add_argument("--org", help="organisation slug, when the name is ambiguous")
        parser.add_argument("--dry-run", action="store_true", help="check only, write nothing")

    def handle(self, *args, file, city, org, dry_run, **options):
        try:
            target = city_for_operator(city, org)
        except DomainError as exc:
            raise CommandError(exc.message) from None
        path = Path(file)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}.") from None
        content_type = "application/json" if ".json" in path.suffixes else "text/csv"
        try:
            # An operator's file on disk may be larger than an HTTP upload.
            frame, report = observations_file_parse(
                data, content_type=content_type, city=target, max_bytes=None
            )
        except InvalidObservationFile as exc:
            problems = "".join(
                f"\n  {'line' if 'line' in e else 'index'} {e.get('line', e.get('index'))}: "
                f"{e['reason']}"
                for e in exc.errors
            )
            raise CommandError(f"{path}: {exc.message}{problems}") from None
        for line in report_summary(report):
            self.stdout.write(line)
        if dry_run:
            self.stdout.write(self.style.WARNING("Dry run: nothing written."))
            return
        with tqdm(total=len(frame), unit="rows", desc="upsert", disable=None) as bar:
            written = observations_upsert(city=target, frame=frame, progress=bar.update)
        self.stdout.write(self.style.SUCCESS(f"{written} observations upserted for {target}."))
