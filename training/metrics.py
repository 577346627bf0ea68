"""Prometheus metrics of training (recorded in the training worker)."""

from prometheus_client import Histogram

TRAINING_SECONDS = Histogram(
    "energy_forecast_training_seconds",
    "Wall time of one training (backtest of every family, fit, registration)",
    buckets=(5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600),
)
