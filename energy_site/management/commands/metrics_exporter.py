"""`manage.py metrics_exporter`: serve the service-wide figures (energy_site/exporter.py)
to Prometheus until stopped. Run one replica."""

import signal
import threading

from django.core.management.base import BaseCommand, CommandError
from prometheus_client import CollectorRegistry, start_http_server

from energy_site.exporter import ServiceStateCollector


class Command(BaseCommand):
    help = "Serve queue depth, job age, forecast freshness and dependency checks on /metrics."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=9809)
        parser.add_argument(
            "--address", default="127.0.0.1", help="0.0.0.0 in a container (default: loopback)"
        )

    def handle(self, *args, port, address, **options):
        registry = CollectorRegistry()
        registry.register(ServiceStateCollector())
        try:
            server, _thread = start_http_server(port, addr=address, registry=registry)
        except OSError as exc:
            raise CommandError(f"cannot listen on {address}:{port}: {exc}") from None
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        self.stdout.write(f"metrics exporter on http://{address}:{port}/metrics")
        self.stdout.flush()
        stop.wait()
        server.shutdown()
