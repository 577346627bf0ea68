"""`manage.py warm_cache`: the recovery plan's third step (docs/operations.md, Recovery)."""

from django.core.management.base import BaseCommand, CommandError

from backups.services import cache_warm


class Command(BaseCommand):
    help = (
        "Load every active model, then request each active city's day-ahead forecast so "
        "that the inference workers load their models and every city has a fresh forecast."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--wait", type=float, default=300, help="seconds to wait for the forecasts (0: none)"
        )

    def handle(self, *args, wait, **options):
        report = cache_warm(wait_seconds=wait)
        states = report["states"]
        self.stdout.write(
            f"{report['active_models_loaded']} active models load; "
            f"{report['forecast_jobs']} day-ahead forecasts requested: "
            + (", ".join(f"{n} {state}" for state, n in sorted(states.items())) or "none")
        )
        for error in report["errors"]:
            self.stderr.write(f"  failed: {error}")
        if wait and set(states) - {"succeeded"}:
            raise CommandError(
                "not every forecast succeeded: check the inference workers "
                "(GET /health/ready) and the failed jobs in the admin"
            )
