"""The consumer loop against the real broker and database: exactly-once effects, dead letters,
retries, giving up."""

import dataclasses
import threading
import uuid

import pytest
from confluent_kafka import Consumer
from django.db import connection, connections, transaction
from testapp import handlers
from testapp.models import Ledger

from saga_events import OrderConfirmedEvent
from saga_events.codec import encode
from saga_events.topics import dead_letter_topic
from saga_runtime.models import ProcessedEvent
from saga_runtime.testing import KafkaTestClient, run_worker_until, wait_for
from saga_runtime.topics import create_topics
from saga_runtime.worker import Outcome, SagaWorker, WorkerGaveUp, load_handlers

pytestmark = pytest.mark.django_db(transaction=True)


def headers_of(message) -> dict[str, str]:
    return {key: value.decode() for key, value in message.headers() or []}


def test_event_is_applied_and_its_outgoing_event_published(kafka, saga_worker, relay, order_placed):
    event = order_placed()
    kafka.send_event(event)

    run_worker_until(saga_worker, Ledger.objects.filter(order_number=event.order_number).exists)
    relay.publish_all()

    [confirmed] = kafka.read_events(OrderConfirmedEvent, order_number=event.order_number)
    assert (confirmed.order_id, confirmed.price, confirmed.quantity) == (1, event.price, 2)
    assert ProcessedEvent.objects.filter(event_id=event.event_id, consumer="runtime").count() == 1


def test_relay_sends_key_and_headers(kafka, saga_worker, relay, order_placed):
    event = order_placed()
    kafka.send_event(event)
    run_worker_until(saga_worker, Ledger.objects.filter(order_number=event.order_number).exists)
    relay.publish_all()

    [message] = kafka.read(
        kafka.config.topic(OrderConfirmedEvent),
        until=lambda ms: any(m.key() == str(event.order_number).encode() for m in ms),
    )[-1:]
    assert message.key() == str(event.order_number).encode()
    headers = headers_of(message)
    assert headers["eventType"] == "OrderConfirmedEvent"
    assert headers["content-type"] == "application/json"


def test_same_event_delivered_twice_is_applied_once(kafka, outcomes_of, order_placed):
    event = order_placed()
    kafka.send_event(event)
    kafka.send_event(event)

    assert outcomes_of(event.order_number, count=2) == [Outcome.HANDLED, Outcome.DUPLICATE]
    assert Ledger.objects.filter(order_number=event.order_number).count() == 1


def test_concurrent_deliveries_of_one_event_apply_it_once(saga_worker, order_placed):
    """Two workers holding the same event at once: the processed-events key lets one through."""
    event = order_placed()
    both_inside = threading.Barrier(2)
    results: list[bool] = []

    def deliver() -> None:
        try:
            with transaction.atomic():
                both_inside.wait(timeout=10)
                if saga_worker._mark_processed([event], ["topic"]):
                    handlers.record_orders([event])
                    results.append(True)
                else:
                    results.append(False)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert sorted(results) == [False, True]
    assert Ledger.objects.filter(order_number=event.order_number).count() == 1


def test_malformed_json_is_dead_lettered_and_the_next_record_still_applied(
    kafka, outcomes_of, order_placed
):
    event = order_placed()
    topic = kafka.config.topic(type(event))
    kafka.send(topic, b"{not json", key=str(event.order_number), headers={"eventType": "x"})
    kafka.send_event(event)

    assert outcomes_of(event.order_number, count=2) == [Outcome.DEAD_LETTERED, Outcome.HANDLED]
    assert Ledger.objects.filter(order_number=event.order_number).count() == 1
    dead = kafka.parked(topic, event.order_number)
    assert dead.value() == b"{not json"
    headers = headers_of(dead)
    assert headers["dlt-original-topic"] == topic
    assert int(headers["dlt-original-offset"]) >= 0
    assert headers["dlt-original-partition"] in {"0", "1", "2"}
    assert headers["dlt-error-class"] == "EventDecodeError"
    assert "invalid JSON" in headers["dlt-error-message"]
    assert headers["eventType"] == "x"  # the original headers travel with it


def test_schema_invalid_event_is_dead_lettered_with_the_field_named(
    kafka, outcomes_of, order_placed
):
    event = order_placed()
    topic = kafka.config.topic(type(event))
    value = encode(event).replace(b'"quantity":2', b'"quantity":"two"')
    kafka.send(topic, value, key=str(event.order_number))

    assert outcomes_of(event.order_number, count=1) == [Outcome.DEAD_LETTERED]
    dead = kafka.parked(topic, event.order_number)
    assert dead.value() == value
    assert headers_of(dead)["dlt-error-message"] == "quantity: expected integer, got string"
    assert not Ledger.objects.filter(order_number=event.order_number).exists()


def test_failing_handler_is_retried_then_dead_lettered(kafka, outcomes_of, payment_failed):
    event = payment_failed("bug")
    kafka.send_event(event)

    assert outcomes_of(event.order_number, count=1) == [Outcome.DEAD_LETTERED]
    assert handlers.attempts[event.event_id] == 3  # SAGA_MAX_HANDLER_ATTEMPTS
    dead = kafka.parked(kafka.config.topic(type(event)), event.order_number)
    assert headers_of(dead)["dlt-error-class"] == "ValueError"
    assert not ProcessedEvent.objects.filter(event_id=event.event_id).exists()


def test_transient_failure_is_retried_and_never_dead_lettered(kafka, outcomes_of, payment_failed):
    event = payment_failed("flaky 4")  # more failures than SAGA_MAX_HANDLER_ATTEMPTS allows

    kafka.send_event(event)

    assert outcomes_of(event.order_number, count=1) == [Outcome.HANDLED]
    assert handlers.attempts[event.event_id] == 5
    assert Ledger.objects.filter(order_number=event.order_number).count() == 1


def test_worker_survives_its_database_connection_being_killed(kafka, saga_worker, order_placed):
    saga_worker.poll_once(0.2)  # make sure the worker holds a connection
    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    connection.close()
    event = order_placed()
    kafka.send_event(event)

    run_worker_until(saga_worker, Ledger.objects.filter(order_number=event.order_number).exists)


def test_records_parked_one_after_another_do_not_make_the_worker_give_up(
    kafka, saga_config, payment_failed
):
    # Two records that always fail, one after the other: their attempts together are more than
    # the failures in a row a worker allows, but parking a record is progress.
    config = dataclasses.replace(
        saga_config,
        topic_prefix=f"{saga_config.topic_prefix}parks-",
        max_handler_attempts=2,
        max_consecutive_failures=3,
    )
    create_topics(config)
    client = KafkaTestClient(config)
    number = uuid.uuid4()  # one order: one partition, the records in this order
    first, second, fine = (
        dataclasses.replace(payment_failed(reason), order_number=number)
        for reason in ("bug", "bug", "fine")
    )
    for event in (first, second, fine):
        client.send_event(event)

    worker = SagaWorker(load_handlers(config.handlers_path), config=config, group=f"parks-{number}")
    try:
        run_worker_until(worker, Ledger.objects.filter(order_number=number).exists, timeout=60)
        parked = client.read(
            dead_letter_topic(config.topic(type(first))),
            until=lambda ms: sum(m.key() == str(number).encode() for m in ms) >= 2,
        )
    finally:
        worker.close()
        client.close()

    mine = [m for m in parked if m.key() == str(number).encode()]
    assert [m.value() for m in mine] == [encode(first), encode(second)]
    assert {headers_of(m)["dlt-error-class"] for m in mine} == {"ValueError"}


def test_worker_gives_up_after_too_many_failures_and_leaves_the_record(
    kafka, saga_config, payment_failed
):
    # Topics of its own, so the session's worker never meets this never-succeeding event.
    config = dataclasses.replace(
        saga_config, topic_prefix=f"{saga_config.topic_prefix}gives-up-", max_consecutive_failures=3
    )
    create_topics(config)
    event = payment_failed("down")
    KafkaTestClient(config).send_event(event)
    group = f"gives-up-{event.event_id}"

    worker = SagaWorker(load_handlers(config.handlers_path), config=config, group=group)
    try:
        with pytest.raises(WorkerGaveUp, match="3 failed attempts in a row"):
            run_worker_until(worker, lambda: False, timeout=60)
    finally:
        worker.consumer.close()

    # Its offset was not committed: the next worker of the group gets the same record.
    again = Consumer(config.consumer_config(group))
    again.subscribe([config.topic(type(event))])
    try:
        message = wait_for(lambda: again.poll(0.5), message="the record again")
    finally:
        again.close()
    assert message.key() == str(event.order_number).encode()
    assert message.offset() == 0
