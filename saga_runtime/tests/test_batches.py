"""The batched consumer loop against the real broker and database: a batch is one transaction,
and a record that fails in it is retried or parked alone while the others still commit."""

import dataclasses
import json
import secrets
import uuid
from decimal import Decimal

import pytest
from confluent_kafka import Consumer, TopicPartition
from django.db import connection, reset_queries
from django.test.utils import CaptureQueriesContext
from testapp import handlers
from testapp.models import Ledger

from saga_events import OrderPlacedEvent, PaymentFailedEvent
from saga_events.codec import encode
from saga_events.topics import dead_letter_topic
from saga_runtime import metrics
from saga_runtime.models import OutboxMessage, ProcessedEvent
from saga_runtime.testing import KafkaTestClient, run_worker_until
from saga_runtime.topics import create_topics
from saga_runtime.worker import Outcome, SagaWorker, WorkerGaveUp, load_handlers

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def batch_config(saga_config):
    """Topics of this module's own: a worker of another test reading the session's topics from
    the start must not meet the failing events sent here."""
    config = dataclasses.replace(saga_config, topic_prefix=f"{saga_config.topic_prefix}batches-")
    create_topics(config)
    return config


@pytest.fixture(scope="module")
def kafka(batch_config):
    client = KafkaTestClient(batch_config)
    yield client
    client.close()


@pytest.fixture(scope="module")
def saga_worker(batch_config):
    worker = SagaWorker(
        load_handlers(batch_config.handlers_path),
        config=batch_config,
        group=f"batches-{uuid.uuid4().hex[:8]}",
    )
    yield worker
    worker.consumer.close()


def records_of(kafka, topic: str, key: uuid.UUID, count: int):
    """The ``count`` records keyed ``key`` on ``topic`` (one partition, so in their order)."""
    messages = kafka.read(
        topic, until=lambda ms: sum(m.key() == str(key).encode() for m in ms) >= count
    )
    return [m for m in messages if m.key() == str(key).encode()]


def failures_of_one_order(payment_failed, *reasons: str):
    """A PaymentFailed for each reason (see testapp.handlers), all about one order, so all on
    one partition in this order."""
    number = uuid.uuid4()
    return number, [dataclasses.replace(payment_failed(r), order_number=number) for r in reasons]


def rolled_back_batches() -> float:
    return metrics.BATCHES.labels("rolled_back")._value.get()


def test_a_batch_applies_every_record_in_one_transaction(kafka, saga_worker, order_placed):
    number = uuid.uuid4()
    events = [order_placed(order_number=number, order_id=n) for n in range(1, 6)]
    for event in events:
        kafka.send_event(event)
    messages = records_of(kafka, kafka.config.topic(OrderPlacedEvent), number, 5)
    committed_before = metrics.BATCHES.labels("committed")._value.get()

    assert saga_worker.process_batch(messages) == [Outcome.HANDLED] * 5

    assert metrics.BATCHES.labels("committed")._value.get() == committed_before + 1
    assert Ledger.objects.filter(order_number=number).count() == 5
    assert ProcessedEvent.objects.filter(event_id__in=[e.event_id for e in events]).count() == 5
    assert OutboxMessage.objects.filter(key=str(number)).count() == 5


@pytest.mark.parametrize("size", [5, 1])
def test_a_batch_opens_no_savepoints_and_writes_its_outbox_rows_in_one_statement_in_order(
    kafka, saga_worker, order_placed, size
):
    number = uuid.uuid4()
    events = [order_placed(order_number=number, order_id=n) for n in range(1, size + 1)]
    for event in events:
        kafka.send_event(event)
    messages = records_of(kafka, kafka.config.topic(OrderPlacedEvent), number, size)
    reset_queries()  # the worker resets the log too; capture from an empty one

    with CaptureQueriesContext(connection) as queries:
        assert saga_worker.process_batch(messages) == [Outcome.HANDLED] * size

    statements = [query["sql"] for query in queries.captured_queries]
    assert not [sql for sql in statements if "SAVEPOINT" in sql]
    assert len([sql for sql in statements if OutboxMessage._meta.db_table in sql]) == 1
    published = OutboxMessage.objects.filter(key=str(number)).order_by("id")
    assert [json.loads(row.payload)["orderId"] for row in published] == list(range(1, size + 1))


def test_a_handler_that_needs_a_savepoint_to_recover_is_applied_again_alone_with_one(
    kafka, saga_worker, payment_failed
):
    number, [fine, recovers] = failures_of_one_order(payment_failed, "fine", "recovers")
    for event in (fine, recovers):
        kafka.send_event(event)
    messages = records_of(kafka, kafka.config.topic(PaymentFailedEvent), number, 2)
    rolled_back = rolled_back_batches()

    assert saga_worker.process_batch(messages) == [Outcome.HANDLED, Outcome.HANDLED]

    assert rolled_back_batches() == rolled_back + 1
    assert handlers.attempts[recovers.event_id] == 2  # in the batch, then alone
    assert Ledger.objects.filter(order_number=number).count() == 2


def test_a_lone_record_that_needs_a_savepoint_to_recover_is_applied_again_with_one(
    kafka, saga_worker, payment_failed
):
    number, [recovers] = failures_of_one_order(payment_failed, "recovers")
    kafka.send_event(recovers)
    messages = records_of(kafka, kafka.config.topic(PaymentFailedEvent), number, 1)
    rolled_back = rolled_back_batches()

    assert saga_worker.process_batch(messages) == [Outcome.HANDLED]

    assert rolled_back_batches() == rolled_back + 1
    assert handlers.attempts[recovers.event_id] == 2  # in its batch of one, then alone
    assert Ledger.objects.filter(order_number=number).count() == 1


def test_the_same_event_twice_in_one_batch_is_applied_once(kafka, saga_worker, order_placed):
    event, other = order_placed(), order_placed()
    other = dataclasses.replace(other, order_number=event.order_number)
    for e in (event, event, other):
        kafka.send_event(e)
    messages = records_of(kafka, kafka.config.topic(OrderPlacedEvent), event.order_number, 3)

    assert saga_worker.process_batch(messages) == [
        Outcome.HANDLED,
        Outcome.DUPLICATE,
        Outcome.HANDLED,
    ]
    assert Ledger.objects.filter(order_number=event.order_number).count() == 2


def test_records_of_a_list_handler_that_stand_together_are_handed_over_as_one_list(
    kafka, saga_worker, order_placed, payment_failed
):
    number = uuid.uuid4()
    first, second, third = (
        order_placed(order_number=number, price=Decimal(price), quantity=1) for price in "123"
    )
    failed = dataclasses.replace(payment_failed("fine"), order_number=number)
    for event in (first, second, third, failed):
        kafka.send_event(event)
    placed = records_of(kafka, kafka.config.topic(OrderPlacedEvent), number, 3)
    [payment] = records_of(kafka, kafka.config.topic(PaymentFailedEvent), number, 1)
    handlers.lists.clear()

    # A record of another handler between them splits them, and everything stays in order.
    outcomes = saga_worker.process_batch([placed[0], placed[1], payment, placed[2], placed[0]])

    assert outcomes == [Outcome.HANDLED] * 4 + [Outcome.DUPLICATE]
    assert handlers.lists == [[first.event_id, second.event_id], [third.event_id]]
    ledger = Ledger.objects.filter(order_number=number).order_by("id")
    assert [row.amount for row in ledger] == [1, 2, failed.amount, 3]


def test_each_record_of_a_list_keeps_its_own_trace_for_the_events_published_for_it(
    kafka, saga_worker, order_placed
):
    # Unsampled upstream, so no span is made here: each context must go on as it came.
    parents = {}
    messages = []
    topic = kafka.config.topic(OrderPlacedEvent)
    for _ in range(2):
        event = order_placed()
        parents[event.order_number] = f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-00"
        kafka.send(
            topic,
            encode(event),
            key=str(event.order_number),
            headers={"eventType": event.event_type, "traceparent": parents[event.order_number]},
        )
        messages += records_of(kafka, topic, event.order_number, 1)
    handlers.lists.clear()

    assert saga_worker.process_batch(messages) == [Outcome.HANDLED] * 2

    assert len(handlers.lists) == 1
    for number, parent in parents.items():
        outgoing = OutboxMessage.objects.get(key=str(number))
        assert outgoing.headers["traceparent"] == parent


def test_a_list_that_fails_is_applied_again_one_record_at_a_time(kafka, saga_worker, order_placed):
    number = uuid.uuid4()
    good, bad, other = (
        order_placed(order_number=number, sku_code=sku) for sku in ("A", "INVALID", "B")
    )
    for event in (good, bad, other):
        kafka.send_event(event)
    messages = records_of(kafka, kafka.config.topic(OrderPlacedEvent), number, 3)
    handlers.lists.clear()

    assert saga_worker.process_batch(messages) == [
        Outcome.HANDLED,
        Outcome.DEAD_LETTERED,
        Outcome.HANDLED,
    ]
    assert handlers.lists == [
        [good.event_id, bad.event_id, other.event_id],  # the batch, rolled back
        [good.event_id],
        [bad.event_id],
        [other.event_id],
    ]
    assert Ledger.objects.filter(order_number=number).count() == 2


def test_a_poison_record_in_the_middle_of_a_batch_is_parked_alone(kafka, saga_worker, order_placed):
    first, last = order_placed(), order_placed()
    last = dataclasses.replace(last, order_number=first.order_number)
    topic = kafka.config.topic(OrderPlacedEvent)
    kafka.send_event(first)
    kafka.send(topic, b"{poison", key=str(first.order_number))
    kafka.send_event(last)
    messages = records_of(kafka, topic, first.order_number, 3)

    assert saga_worker.process_batch(messages) == [
        Outcome.HANDLED,
        Outcome.DEAD_LETTERED,
        Outcome.HANDLED,
    ]
    assert Ledger.objects.filter(order_number=first.order_number).count() == 2
    [dead] = records_of(kafka, dead_letter_topic(topic), first.order_number, 1)
    assert dead.value() == b"{poison"


def test_a_failing_handler_in_a_batch_is_retried_alone(kafka, saga_worker, payment_failed):
    number, [fine, flaky] = failures_of_one_order(payment_failed, "fine", "flaky 1")
    topic = kafka.config.topic(PaymentFailedEvent)
    for event in (fine, flaky):
        kafka.send_event(event)
    messages = records_of(kafka, topic, number, 2)
    rolled_back = rolled_back_batches()

    assert saga_worker.process_batch(messages) == [Outcome.HANDLED, Outcome.HANDLED]

    assert rolled_back_batches() == rolled_back + 1
    assert handlers.attempts[fine.event_id] == 2  # rolled back with the batch, applied again
    assert handlers.attempts[flaky.event_id] == 2  # failed in the batch, then succeeded alone
    assert Ledger.objects.filter(order_number=number).count() == 2
    assert ProcessedEvent.objects.filter(event_id__in=[flaky.event_id, fine.event_id]).count() == 2


def test_a_record_whose_handler_keeps_failing_is_parked_and_the_rest_of_its_batch_committed(
    kafka, saga_worker, payment_failed
):
    number, [before, bug, after] = failures_of_one_order(payment_failed, "fine", "bug", "fine")
    for event in (before, bug, after):
        kafka.send_event(event)
    messages = records_of(kafka, kafka.config.topic(PaymentFailedEvent), number, 3)

    assert saga_worker.process_batch(messages) == [
        Outcome.HANDLED,
        Outcome.DEAD_LETTERED,
        Outcome.HANDLED,
    ]
    assert Ledger.objects.filter(order_number=number).count() == 2
    assert not ProcessedEvent.objects.filter(event_id=bug.event_id).exists()


def test_offsets_are_committed_up_to_the_last_applied_record_never_past_it(
    saga_config, payment_failed
):
    # Topics of its own, so the session's worker never meets this never-succeeding event.
    config = dataclasses.replace(
        saga_config, topic_prefix=f"{saga_config.topic_prefix}offsets-", max_consecutive_failures=3
    )
    create_topics(config)
    kafka = KafkaTestClient(config)
    number, [first, second, down, never] = failures_of_one_order(
        payment_failed, "fine", "fine", "down", "fine"
    )
    for event in (first, second, down, never):
        kafka.send_event(event)
    group = f"offsets-{number}"

    worker = SagaWorker(load_handlers(config.handlers_path), config=config, group=group)
    try:
        with pytest.raises(WorkerGaveUp):
            run_worker_until(worker, lambda: False, timeout=60)
        worker.close()
    finally:
        kafka.close()

    assert Ledger.objects.filter(order_number=number).count() == 2
    applied = ProcessedEvent.objects.filter(
        event_id__in=[first.event_id, second.event_id, down.event_id, never.event_id]
    )
    assert set(applied.values_list("event_id", flat=True)) == {first.event_id, second.event_id}
    [down_record] = [
        m
        for m in records_of(kafka, config.topic(PaymentFailedEvent), number, 4)
        if m.value() == encode(down)
    ]
    reader = Consumer(config.consumer_config(group))
    try:
        [committed] = reader.committed(
            [TopicPartition(down_record.topic(), down_record.partition())], timeout=10
        )
    finally:
        reader.close()
    # The next worker of the group starts at the record that failed, not after it.
    assert committed.offset == down_record.offset()
