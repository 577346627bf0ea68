"""Prometheus metrics of dispatch (recorded in the optimization worker)."""

from prometheus_client import Histogram

DISPATCH_SOLVE_SECONDS = Histogram(
    "energy_forecast_dispatch_solve_seconds",
    "HiGHS solve time of one dispatch (every lexicographic stage), by outcome status",
    ["status"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
