"""Handlers of the runtime's test service.

``record_orders`` applies orders and publishes an event for each, taking a batch's orders as one
list (an order of SKU ``INVALID`` fails the list with InvalidEvent). ``fail_as_told`` takes one
event and fails the way its reason says, so tests can drive the worker's retry and dead-letter
paths. ``tick`` is a periodic task whose first run fails.
"""

import uuid
from collections import Counter
from contextlib import suppress

from django.db import DatabaseError, OperationalError, connection, transaction

from saga_events import OrderConfirmedEvent, OrderPlacedEvent, PaymentFailedEvent
from saga_runtime import outbox
from saga_runtime.errors import InvalidEvent
from saga_runtime.handling import record_of, takes_list

from .models import Ledger

#: Attempts per event id, kept in memory: the tests run the worker in their own process.
attempts: Counter = Counter()


#: The event ids of each list ``record_orders`` was given, in the order it was given them.
lists: list[list[uuid.UUID]] = []


@takes_list
@transaction.atomic  # as every service function is: nested in a batch, it would open a savepoint
def record_orders(events: list[OrderPlacedEvent]) -> None:
    lists.append([event.event_id for event in events])
    for event in events:
        if event.sku_code == "INVALID":
            raise InvalidEvent("the SKU is INVALID")
        with record_of(event):
            Ledger.objects.create(
                order_number=event.order_number, amount=event.price * event.quantity
            )
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


HANDLERS = {OrderPlacedEvent: record_orders, PaymentFailedEvent: fail_as_told}


#: Runs of :func:`tick`, kept in memory: the tests run the worker in their own process.
ticks: list[int] = []


def tick() -> None:
    """Count a run in the database; the first run fails as if the database were down."""
    ticks.append(len(ticks) + 1)
    if len(ticks) == 1:
        raise OperationalError("connection refused (simulated outage)")
    Ledger.objects.create(order_number=uuid.uuid4(), amount=len(ticks))


PERIODIC_TASKS = {tick: 0.05}
