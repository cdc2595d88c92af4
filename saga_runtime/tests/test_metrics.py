"""The worker's metrics move with what really happens to records and to the outbox."""

import dataclasses
import socket
import threading
import uuid
from decimal import Decimal

import pytest
from confluent_kafka import Producer
from django.db import transaction
from prometheus_client import REGISTRY

from saga_events import OrderConfirmedEvent, OrderPlacedEvent, PaymentFailedEvent
from saga_runtime import metrics, outbox
from saga_runtime.relay import OutboxRelay
from saga_runtime.testing import KafkaTestClient, run_worker_until, wait_for
from saga_runtime.topics import create_topics
from saga_runtime.worker import SagaWorker, load_handlers

pytestmark = pytest.mark.django_db(transaction=True)


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_every_record_is_counted_on_arrival_and_by_outcome(saga_config):
    # Topics and a group of this test's own: every record on them is one it sent.
    config = dataclasses.replace(saga_config, topic_prefix=f"{saga_config.topic_prefix}metrics-")
    create_topics(config)
    kafka = KafkaTestClient(config)
    worker = SagaWorker(
        load_handlers(config.handlers_path), config=config, group=f"metrics-{uuid.uuid4().hex}"
    )
    placed, failed = config.topic(OrderPlacedEvent), config.topic(PaymentFailedEvent)
    event = OrderPlacedEvent.new(
        order_id=1, order_number=uuid.uuid4(), sku_code="S", price=Decimal("1.00"), quantity=1
    )
    buggy = PaymentFailedEvent.new(
        order_id=1, order_number=uuid.uuid4(), amount=Decimal("1.00"), reason="bug"
    )
    names = [
        ("saga_records_consumed_total", {"topic": placed}),
        ("saga_records_consumed_total", {"topic": failed}),
        *(
            ("saga_records_total", {"topic": topic, "outcome": outcome})
            for topic in (placed, failed)
            for outcome in ("handled", "duplicate", "dead_lettered", "retried")
        ),
        ("saga_handler_duration_seconds_count", {"topic": placed}),
    ]
    before = {(name, tuple(labels.items())): sample(name, **labels) for name, labels in names}

    def delta(name: str, **labels: str) -> float:
        return sample(name, **labels) - before[(name, tuple(labels.items()))]

    kafka.send_event(event)
    kafka.send_event(event)  # a redelivery: same eventId
    kafka.send(placed, b"{not json", key=str(event.order_number))
    kafka.send_event(buggy)
    try:
        run_worker_until(
            worker,
            lambda: (
                delta("saga_records_total", topic=failed, outcome="dead_lettered") == 1
                and delta("saga_records_consumed_total", topic=placed) == 3
            ),
            message="all four records",
        )
    finally:
        worker.consumer.close()
        worker.producer.flush(10)

    assert delta("saga_records_consumed_total", topic=placed) == 3
    assert delta("saga_records_consumed_total", topic=failed) == 1
    assert delta("saga_records_total", topic=placed, outcome="handled") == 1
    assert delta("saga_records_total", topic=placed, outcome="duplicate") == 1
    assert delta("saga_records_total", topic=placed, outcome="dead_lettered") == 1
    assert delta("saga_records_total", topic=placed, outcome="retried") == 0
    # A handler that keeps failing: every attempt counted as retried, then one dead letter.
    assert delta("saga_records_total", topic=failed, outcome="retried") == 3
    assert delta("saga_records_total", topic=failed, outcome="handled") == 0
    assert delta("saga_handler_duration_seconds_count", topic=placed) == 1
    # The worker has read to the end of what it was given.
    lags = [
        sample("saga_consumer_lag", topic=placed, partition=str(partition))
        for partition in range(config.topic_partitions)
    ]
    assert lags == [0.0] * config.topic_partitions


def test_outbox_backlog_and_its_age_grow_while_the_broker_is_unreachable():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    relay = OutboxRelay(
        Producer({"bootstrap.servers": f"127.0.0.1:{closed}", "enable.idempotence": True}),
        flush_timeout=0.5,
    )
    with transaction.atomic():
        outbox.publish(
            OrderConfirmedEvent.new(
                order_id=1, order_number=uuid.uuid4(), price=Decimal("1.00"), quantity=1
            )
        )
    failures = sample("saga_outbox_failures_total")
    # Values no pass can set: whatever is read afterwards was set by this relay.
    metrics.OUTBOX_BACKLOG.set(-1)
    metrics.OUTBOX_OLDEST_AGE.set(-1)
    stop = threading.Event()
    thread = threading.Thread(
        target=relay.run, kwargs={"stop": stop, "poll_seconds": 0.2, "backoff_max": 0.5}
    )
    thread.start()
    try:
        wait_for(
            lambda: (
                sample("saga_outbox_failures_total") > failures
                and sample("saga_outbox_backlog") == 1
                and sample("saga_outbox_oldest_unsent_age_seconds") > 0.5
            ),
            timeout=20,
            message="the relay to fail and report its backlog",
        )
    finally:
        stop.set()
        thread.join(30)
        relay.producer.purge()  # the row that never left stays in the outbox, not in librdkafka
        relay.producer.flush(0)
