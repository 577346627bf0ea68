"""gunicorn hooks for Prometheus multiprocess mode (energy_site/prometheus_multiprocess.py).

deploy/gunicorn.conf.py imports them; with ``PROMETHEUS_MULTIPROC_DIR`` set, the master
empties the directory before it forks the workers and marks each worker that exits dead.
Alone, ``gunicorn -c deploy/gunicorn_metrics.py energy_site.wsgi`` runs sync workers with
just these hooks (tests/deploy uses it as the weakest backend behind nginx).
"""

import os
from pathlib import Path

# energy_site's settings refuse a PROMETHEUS_MULTIPROC_DIR that does not exist, and
# importing energy_site reads them: create it first.
if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]).mkdir(parents=True, exist_ok=True)

from energy_site.prometheus_multiprocess import directory_reset, process_dead  # noqa: E402


def on_starting(server):
    directory_reset()


def child_exit(server, worker):
    process_dead(worker.pid)
