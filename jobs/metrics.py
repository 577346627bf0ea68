"""Prometheus metrics of the job machinery, recorded wherever a job ends (a worker, the
web when a client cancels or the broker is down, beat's recovery) and added up across
processes (energy_site/prometheus_multiprocess.py)."""

from django.utils import timezone
from prometheus_client import Counter, Histogram

from jobs.models import Job

JOBS_FINISHED = Counter(
    "energy_forecast_jobs_finished_total",
    "Jobs that reached a final state, by kind and state (succeeded, failed, cancelled)",
    ["kind", "state"],
)
JOB_RETRIES = Counter(
    "energy_forecast_job_retries_total",
    "Jobs sent back to the queue after an unexpected error, by kind",
    ["kind"],
)
JOB_DURATION = Histogram(
    "energy_forecast_job_duration_seconds",
    "Time from a job's creation to its final state, by kind",
    ["kind"],
    buckets=(0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600),
)

# Every series exists from the start at 0, so that rate() and the failure-rate alert see
# the first failure of a kind, not only the second.
for _kind in Job.Kind.values:
    JOB_RETRIES.labels(kind=_kind)
    for _state in Job.FINISHED_STATES:
        JOBS_FINISHED.labels(kind=_kind, state=_state)


def job_finished(job) -> None:
    """Count one job that just reached its final state (the caller won the update)."""
    JOBS_FINISHED.labels(kind=job.kind, state=job.state).inc()
    if job.created_at is not None:
        JOB_DURATION.labels(kind=job.kind).observe(
            max((timezone.now() - job.created_at).total_seconds(), 0.0)
        )
