"""The order saga's state machine: every change of an order's status happens here.

Each function runs in one transaction with the events it publishes (through the outbox), so a
status and the event announcing it commit together or not at all. A function called for an
order that is not in the state it expects changes nothing, publishes nothing and returns None:
that is how a duplicate or out-of-order event is absorbed.
"""

import logging
from decimal import Decimal
from uuid import UUID

from django.db import connection, transaction

from saga_events import (
    Event,
    OrderConfirmedEvent,
    OrderFailedEvent,
    OrderPaidEvent,
    OrderPlacedEvent,
    OrderShipmentFailedEvent,
)
from saga_runtime import outbox
from saga_runtime.text import storable

from . import metrics
from .models import TERMINAL_STATUSES, Order, OrderHistory, OrderStatus
from .waiting import ORDER_ENDED

logger = logging.getLogger(__name__)


@transaction.atomic
def place_order(*, sku_code: str, price: Decimal, quantity: int) -> Order:
    """Store a PENDING order and publish OrderPlacedEvent with it."""
    order = Order.objects.create(sku_code=sku_code, price=price, quantity=quantity)
    event = OrderPlacedEvent.new(
        order_id=order.id,
        order_number=order.order_number,
        sku_code=sku_code,
        price=order.price,
        quantity=quantity,
    )
    OrderHistory.objects.create(
        order=order,
        to_status=OrderStatus.PENDING,
        event_type=event.event_type,
        event_id=event.event_id,
    )
    outbox.publish(event)
    return order


@transaction.atomic
def confirm_order(*, order_number: UUID, cause: Event) -> Order | None:
    """PENDING → CONFIRMED once stock is reserved; payment is asked for with OrderConfirmed."""
    order = _transition(order_number, cause, expected=OrderStatus.PENDING, to=OrderStatus.CONFIRMED)
    if order:
        outbox.publish(
            OrderConfirmedEvent.new(
                order_id=order.id,
                order_number=order.order_number,
                price=order.price,
                quantity=order.quantity,
            )
        )
    return order


@transaction.atomic
def fail_order(*, order_number: UUID, reason: str, cause: Event) -> Order | None:
    """PENDING → FAILED when stock could not be reserved; OrderFailed tells inventory."""
    order = _transition(
        order_number, cause, expected=OrderStatus.PENDING, to=OrderStatus.FAILED, reason=reason
    )
    if order:
        outbox.publish(
            OrderFailedEvent.new(
                order_id=order.id,
                order_number=order.order_number,
                sku_code=order.sku_code,
                reserved_quantity=0,
                reason=order.failure_reason,
            )
        )
    return order


@transaction.atomic
def mark_order_paid(*, order_number: UUID, cause: Event) -> Order | None:
    """CONFIRMED → PAID; shipment is asked for with OrderPaid."""
    order = _transition(order_number, cause, expected=OrderStatus.CONFIRMED, to=OrderStatus.PAID)
    if order:
        outbox.publish(
            OrderPaidEvent.new(
                order_id=order.id,
                order_number=order.order_number,
                sku_code=order.sku_code,
                quantity=order.quantity,
            )
        )
    return order


@transaction.atomic
def mark_payment_failed(*, order_number: UUID, reason: str, cause: Event) -> Order | None:
    """CONFIRMED → PAYMENT_FAILED. Inventory releases the stock on the same PaymentFailed event."""
    return _transition(
        order_number,
        cause,
        expected=OrderStatus.CONFIRMED,
        to=OrderStatus.PAYMENT_FAILED,
        reason=reason,
    )


@transaction.atomic
def mark_order_shipped(*, order_number: UUID, cause: Event) -> Order | None:
    """PAID → SHIPPED: the saga's happy end."""
    return _transition(order_number, cause, expected=OrderStatus.PAID, to=OrderStatus.SHIPPED)


@transaction.atomic
def mark_shipment_failed(*, order_number: UUID, reason: str, cause: Event) -> Order | None:
    """PAID → SHIPMENT_FAILED; OrderShipmentFailed makes inventory release and payment refund."""
    order = _transition(
        order_number,
        cause,
        expected=OrderStatus.PAID,
        to=OrderStatus.SHIPMENT_FAILED,
        reason=reason,
    )
    if order:
        outbox.publish(
            OrderShipmentFailedEvent.new(
                order_id=order.id,
                order_number=order.order_number,
                reason=order.failure_reason,
            )
        )
    return order


@transaction.atomic
def record_refund(
    *, order_number: UUID, amount: Decimal, reason: str, cause: Event
) -> Order | None:
    """Note in a SHIPMENT_FAILED order's history that its payment was refunded, once."""
    order = _locked_order(order_number)
    if order is None or not _fits(order, cause, expected=OrderStatus.SHIPMENT_FAILED):
        return None
    if order.history.filter(event_type=cause.event_type).exists():
        logger.info("refund already recorded", extra={"orderNumber": str(order_number)})
        return None
    OrderHistory.objects.create(
        order=order,
        from_status=order.status,
        to_status=order.status,
        event_type=cause.event_type,
        event_id=cause.event_id,
        reason=storable(f"refunded {amount}: {reason}"),
    )
    return order


def _transition(
    order_number: UUID, cause: Event, *, expected: str, to: str, reason: str = ""
) -> Order | None:
    order = _locked_order(order_number)
    if order is None or not _fits(order, cause, expected=expected):
        return None
    reason = storable(reason)
    order.status = to
    order.failure_reason = reason
    order.save(update_fields=["status", "failure_reason", "updated_at"])
    OrderHistory.objects.create(
        order=order,
        from_status=expected,
        to_status=to,
        event_type=cause.event_type,
        event_id=cause.event_id,
        reason=reason,
    )
    if to in TERMINAL_STATUSES:
        metrics.saga_ended(order)
        # Wakes the requests waiting for this order to end, when (and if) this commits.
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_notify(%s, %s)", [ORDER_ENDED, str(order.id)])
    return order


def _locked_order(order_number: UUID) -> Order | None:
    # The row lock serialises every change to one order, so its outbox rows follow commit order.
    order = Order.objects.select_for_update().filter(order_number=order_number).first()
    if order is None:
        logger.warning(
            "event for an unknown order ignored", extra={"orderNumber": str(order_number)}
        )
        metrics.IGNORED_EVENTS.labels("unknown_order").inc()
    return order


def _fits(order: Order, cause: Event, *, expected: str) -> bool:
    if order.status == expected:
        return True
    logger.warning(
        "%s ignored: order is %s, not %s",
        cause.event_type,
        order.status,
        expected,
        extra={"orderNumber": str(order.order_number), "status": order.status},
    )
    metrics.IGNORED_EVENTS.labels("wrong_state").inc()
    return False
