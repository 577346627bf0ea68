"""Each app's tasks reach its own queue, and only that queue."""

import pytest

from energy_site.celery import app


@pytest.mark.parametrize(
    "task, queue",
    [
        ("forecasts.tasks.forecast_batch", "inference"),
        ("cities.tasks.ingest_observations", "training"),
        ("training.tasks.train_model", "training"),
        ("optimization.tasks.optimize_dispatch", "optimization"),
    ],
)
def test_tasks_are_routed_to_their_queue(task, queue):
    route = app.amqp.router.route({}, task)
    assert route["queue"].name == queue
    assert route["queue"].routing_key == queue
    # No other queue is bound with the same exchange and key (else it gets a copy).
    bindings = {(q.exchange.name, q.routing_key) for q in app.amqp.queues.values()}
    assert len(bindings) == len(app.amqp.queues) == 3


def test_reliability_settings():
    conf = app.conf
    assert conf.task_acks_late and conf.task_reject_on_worker_lost
    assert conf.task_serializer == "json" and conf.accept_content == ["json"]
    visibility = conf.broker_transport_options.get("visibility_timeout")
    assert visibility is None or visibility > conf.task_time_limit
