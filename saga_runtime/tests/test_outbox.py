"""The transactional outbox and its relay against the real database and broker."""

import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

import psycopg
import pytest
from django.db import connection, transaction

from saga_events import OrderConfirmedEvent
from saga_runtime import outbox
from saga_runtime.models import OutboxMessage

pytestmark = pytest.mark.django_db(transaction=True)


def confirmed(order_number: uuid.UUID | None = None) -> OrderConfirmedEvent:
    return OrderConfirmedEvent.new(
        order_id=7, order_number=order_number or uuid.uuid4(), price=Decimal("12.50"), quantity=3
    )


def keys_on(kafka, topic: str, *, until_key: uuid.UUID) -> set[bytes]:
    messages = kafka.read(
        topic, until=lambda ms: any(m.key() == str(until_key).encode() for m in ms)
    )
    return {m.key() for m in messages}


def test_publish_outside_a_transaction_is_refused():
    with pytest.raises(outbox.OutsideTransactionError):
        outbox.publish(confirmed())
    assert not OutboxMessage.objects.exists()


def test_event_committed_while_no_relay_runs_is_published_when_it_starts(kafka, relay):
    event = confirmed()
    with transaction.atomic():
        outbox.publish(event)
    assert OutboxMessage.objects.get(event_id=event.event_id).sent_at is None

    assert relay.publish_all() >= 1

    [received] = kafka.read_events(OrderConfirmedEvent, order_number=event.order_number)
    assert received == event
    assert OutboxMessage.objects.get(event_id=event.event_id).sent_at is not None


def test_rolled_back_transaction_publishes_nothing(kafka, relay):
    rolled_back, marker = confirmed(), confirmed()
    with pytest.raises(RuntimeError), transaction.atomic():
        outbox.publish(rolled_back)
        raise RuntimeError("the change failed")
    with transaction.atomic():
        outbox.publish(marker)

    relay.publish_all()

    # Everything published before the marker has arrived with it: the rolled-back event is absent.
    keys = keys_on(kafka, kafka.config.topic(OrderConfirmedEvent), until_key=marker.order_number)
    assert str(rolled_back.order_number).encode() not in keys
    assert not OutboxMessage.objects.filter(event_id=rolled_back.event_id).exists()


def test_one_orders_events_are_published_in_commit_order(kafka, relay):
    order_number = uuid.uuid4()
    events = [confirmed(order_number) for _ in range(5)]
    for event in events:
        with transaction.atomic():
            outbox.publish(event)

    relay.publish_all()

    received = kafka.read_events(OrderConfirmedEvent, order_number=order_number, count=5)
    assert [e.event_id for e in received] == [e.event_id for e in events]


def test_running_relay_wakes_on_commit_rather_than_on_its_poll(kafka, relay):
    stop = threading.Event()
    thread = threading.Thread(
        target=relay.run, kwargs={"stop": stop, "poll_seconds": 120, "backoff_max": 1}
    )
    thread.start()
    try:
        # Once it listens, only a NOTIFY can make it publish within its 120 s poll.
        assert relay.listening.wait(10)
        event = confirmed()
        with transaction.atomic():
            outbox.publish(event)
        [received] = kafka.read_events(
            OrderConfirmedEvent, order_number=event.order_number, timeout=20
        )
        assert received.event_id == event.event_id
    finally:
        stop.set()
        thread.join(10)


def connect() -> psycopg.Connection:
    """A connection of its own to the test database, beside Django's."""
    db = connection.settings_dict
    return psycopg.connect(
        dbname=db["NAME"],
        user=db["USER"],
        password=db["PASSWORD"],
        host=db["HOST"],
        port=db["PORT"],
    )


@contextmanager
def another_relay_mid_batch() -> Iterator[psycopg.Connection]:
    """A second relay's connection that has claimed every unsent row and not committed yet,
    as while it waits for the broker's acknowledgements."""
    with connect() as other:
        claimed = other.execute(
            f"UPDATE {OutboxMessage._meta.db_table} SET sent_at = now() "
            "WHERE sent_at IS NULL RETURNING id"
        ).fetchall()
        assert claimed
        yield other


def publish_pending_in_thread(relay) -> tuple[threading.Thread, list[int]]:
    sent: list[int] = []

    def publish() -> None:
        try:
            sent.append(relay.publish_pending())
        finally:
            connection.close()

    thread = threading.Thread(target=publish)
    thread.start()
    return thread, sent


def wait_until_a_relay_waits_for_a_lock() -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with connect() as c:
            waiting = c.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            ).fetchone()[0]
        if waiting:
            return
        time.sleep(0.05)
    raise AssertionError("the relay did not wait for the other relay's row locks")


def test_a_second_relay_waits_for_the_first_and_does_not_send_its_rows_again(relay):
    with transaction.atomic():
        outbox.publish(confirmed())
    with another_relay_mid_batch() as other:
        thread, sent = publish_pending_in_thread(relay)
        wait_until_a_relay_waits_for_a_lock()
        other.commit()
    thread.join(10)
    assert sent == [0]


def test_a_second_relay_sends_the_rows_the_first_gave_back(kafka, relay):
    event = confirmed()
    with transaction.atomic():
        outbox.publish(event)
    with another_relay_mid_batch() as other:
        thread, sent = publish_pending_in_thread(relay)
        wait_until_a_relay_waits_for_a_lock()
        other.rollback()  # as when the broker did not acknowledge its batch
    thread.join(10)
    assert sent == [1]
    [received] = kafka.read_events(OrderConfirmedEvent, order_number=event.order_number)
    assert received.event_id == event.event_id
