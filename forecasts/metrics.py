"""The project's own Prometheus metrics (django-prometheus covers requests, DB, cache)."""

from prometheus_client import Counter, Histogram

FORECAST_REQUESTS = Counter(
    "energy_forecast_requests_total", "Forecast requests accepted by the API", ["outcome"]
)
FORECAST_BATCH_SIZE = Histogram(
    "energy_forecast_batch_size",
    "Forecast jobs answered by one batched predict call",
    buckets=(1, 2, 4, 8, 16, 32),
)
FORECAST_QUEUE_WAIT = Histogram(
    "energy_forecast_queue_wait_seconds",
    "Time a forecast job waited between acceptance and its batch",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300),
)
INFERENCE_LATENCY = Histogram(
    "energy_forecast_inference_seconds",
    "Wall time of one batched inference call",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10),
)
