"""The transactional outbox and its relay against the real database and broker."""

import threading
import uuid
from decimal import Decimal

import psycopg
import pytest
from django.db import connection, transaction

from saga_events import OrderConfirmedEvent
from saga_runtime import outbox
from saga_runtime.models import OutboxMessage
from saga_runtime.relay import _RELAY_LOCK_ID

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


def test_a_second_relay_waits_while_one_is_publishing(relay):
    with transaction.atomic():
        outbox.publish(confirmed())
    db = connection.settings_dict
    with psycopg.connect(
        dbname=db["NAME"],
        user=db["USER"],
        password=db["PASSWORD"],
        host=db["HOST"],
        port=db["PORT"],
    ) as other_relay:
        other_relay.execute("SELECT pg_advisory_xact_lock(%s)", [_RELAY_LOCK_ID])
        assert relay.publish_pending() == 0
        other_relay.rollback()
    assert relay.publish_pending() == 1
