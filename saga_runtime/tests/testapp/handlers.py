"""Handlers of the runtime's test service.

``record_order`` applies an order and publishes an event; ``fail_as_told`` fails the way the
event's reason says, so tests can drive the worker's retry and dead-letter paths.
``tick`` is a periodic task whose first run fails.
"""

import uuid
from collections import Counter
from contextlib import suppress

from django.db import DatabaseError, OperationalError, connection, transaction

from saga_events import OrderConfirmedEvent, OrderPlacedEvent, PaymentFailedEvent
from saga_runtime import outbox

from .models import Ledger

#: Attempts per event id, kept in memory: the tests run the worker in their own process.
attempts: Counter = Counter()


@transaction.atomic  # as every service function is: nested in a batch, it would open a savepoint
def record_order(event: OrderPlacedEvent) -> None:
    Ledger.objects.create(order_number=event.order_number, amount=event.price * event.quantity)
    outbox.publish(
        OrderConfirmedEvent.new(
            order_id=event.order_id,
            order_number=event.order_number,
            price=event.price,
            quantity=event.quantity,
        )
    )


def fail_as_told(event: PaymentFailedEvent) -> None:
    """reason ``bug``: always ValueError. ``flaky N``: OperationalError for the first N
    attempts, then success. ``down``: OperationalError forever. ``recovers``: a statement
    that fails inside a nested atomic block, caught (which needs that block's savepoint), then
    success."""
    attempts[event.event_id] += 1
    kind, _, count = event.reason.partition(" ")
    if kind == "bug":
        raise ValueError("the handler has a bug")
    if kind == "recovers":
        with suppress(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT 1 / 0")
    if kind == "down" or (kind == "flaky" and attempts[event.event_id] <= int(count)):
        raise OperationalError("connection refused (simulated outage)")
    Ledger.objects.create(order_number=event.order_number, amount=event.amount)


HANDLERS = {OrderPlacedEvent: record_order, PaymentFailedEvent: fail_as_told}


#: Runs of :func:`tick`, kept in memory: the tests run the worker in their own process.
ticks: list[int] = []


def tick() -> None:
    """Count a run in the database; the first run fails as if the database were down."""
    ticks.append(len(ticks) + 1)
    if len(ticks) == 1:
        raise OperationalError("connection refused (simulated outage)")
    Ledger.objects.create(order_number=uuid.uuid4(), amount=len(ticks))


PERIODIC_TASKS = {tick: 0.05}
