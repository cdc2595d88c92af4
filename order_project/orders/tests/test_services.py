"""The state machine of orders/services.py against the real database: what each step stores
and what it writes to the outbox. (Delivery through Kafka is in test_handlers.py.)"""

import uuid
from decimal import Decimal

import pytest
from django.db import transaction

from orders import services
from orders.handlers import HANDLERS
from orders.models import Order, OrderHistory, OrderStatus
from orders.tests.conftest import incoming, sample
from saga_events import (
    InventoryFailedEvent,
    InventoryReservedEvent,
    OrderConfirmedEvent,
    OrderFailedEvent,
    OrderPaidEvent,
    OrderPlacedEvent,
    OrderShipmentFailedEvent,
    PaymentFailedEvent,
    PaymentRefundedEvent,
    ShipmentFailedEvent,
    ShipmentShippedEvent,
)
from saga_events.codec import decode
from saga_runtime.models import OutboxMessage

pytestmark = pytest.mark.django_db


def outbox_of(order: Order) -> list[OutboxMessage]:
    return list(OutboxMessage.objects.filter(key=str(order.order_number)).order_by("id"))


def test_placing_an_order_stores_it_pending_with_its_history_and_order_placed_in_the_outbox():
    order = services.place_order(sku_code="SKU-1", price=Decimal("49.90"), quantity=3)

    stored = Order.objects.get(pk=order.pk)
    assert (stored.sku_code, stored.price, stored.quantity, stored.status) == (
        "SKU-1",
        Decimal("49.90"),
        3,
        OrderStatus.PENDING,
    )
    [line] = stored.history.all()
    [row] = outbox_of(order)
    event = decode(OrderPlacedEvent, row.payload)
    assert (row.event_type, row.topic.endswith("order-placed-topic"), row.sent_at) == (
        "OrderPlacedEvent",
        True,
        None,
    )
    assert (event.order_id, event.order_number) == (order.id, order.order_number)
    assert (event.sku_code, event.price, event.quantity) == ("SKU-1", Decimal("49.90"), 3)
    assert (line.from_status, line.to_status, line.event_type, line.event_id) == (
        "",
        OrderStatus.PENDING,
        "OrderPlacedEvent",
        event.event_id,
    )


def test_an_order_whose_event_cannot_be_built_is_not_stored_either():
    # The event refuses a price it would have to round; the order must roll back with it.
    with pytest.raises(ValueError, match="decimal places"):
        services.place_order(sku_code="SKU-1", price=Decimal("1.005"), quantity=1)

    assert not Order.objects.exists()
    assert not OrderHistory.objects.exists()
    assert not OutboxMessage.objects.exists()


def test_confirming_a_pending_order_asks_for_payment_with_its_price_and_quantity(place_order):
    order = place_order(price="12.50", quantity=4)
    cause = incoming(InventoryReservedEvent, order)

    assert services.confirm_order(order_number=order.order_number, cause=cause) is not None

    order.refresh_from_db()
    assert order.status == OrderStatus.CONFIRMED
    placed, confirmed = outbox_of(order)
    assert (placed.event_type, confirmed.event_type) == ("OrderPlacedEvent", "OrderConfirmedEvent")
    event = decode(OrderConfirmedEvent, confirmed.payload)
    assert (event.order_id, event.price, event.quantity) == (order.id, Decimal("12.50"), 4)
    line = order.history.last()
    assert (line.from_status, line.to_status, line.event_type, line.event_id) == (
        OrderStatus.PENDING,
        OrderStatus.CONFIRMED,
        "InventoryReservedEvent",
        cause.event_id,
    )


def test_failing_a_pending_order_keeps_the_reason_and_tells_inventory(place_order):
    order = place_order(sku_code="SKU-X", quantity=5)
    cause = incoming(InventoryFailedEvent, order, reason="unknown SKU SKU-X")

    services.fail_order(order_number=order.order_number, reason=cause.reason, cause=cause)

    order.refresh_from_db()
    assert (order.status, order.failure_reason) == (OrderStatus.FAILED, "unknown SKU SKU-X")
    event = decode(OrderFailedEvent, outbox_of(order)[-1].payload)
    assert (event.sku_code, event.reserved_quantity, event.reason) == (
        "SKU-X",
        0,
        "unknown SKU SKU-X",
    )
    assert order.history.last().reason == "unknown SKU SKU-X"


def test_a_paid_order_asks_for_shipment_with_its_sku_and_quantity(order_in):
    order = order_in(OrderStatus.PAID, sku_code="SKU-7", quantity=6)

    event = decode(OrderPaidEvent, outbox_of(order)[-1].payload)

    assert (event.order_id, event.sku_code, event.quantity) == (order.id, "SKU-7", 6)


def test_a_failed_shipment_asks_for_compensation_with_the_carriers_reason(order_in):
    order = order_in(OrderStatus.PAID)
    cause = incoming(ShipmentFailedEvent, order, reason="carrier refused")

    services.mark_shipment_failed(order_number=order.order_number, reason=cause.reason, cause=cause)

    order.refresh_from_db()
    assert (order.status, order.failure_reason) == (OrderStatus.SHIPMENT_FAILED, "carrier refused")
    event = decode(OrderShipmentFailedEvent, outbox_of(order)[-1].payload)
    assert (event.order_number, event.reason) == (order.order_number, "carrier refused")


@pytest.mark.parametrize(
    ("before", "event_class", "after"),
    [
        (OrderStatus.CONFIRMED, PaymentFailedEvent, OrderStatus.PAYMENT_FAILED),
        (OrderStatus.PAID, ShipmentShippedEvent, OrderStatus.SHIPPED),
    ],
)
def test_payment_failed_and_shipped_change_the_status_but_publish_nothing(
    order_in, before, event_class, after
):
    order = order_in(before)
    published = outbox_of(order)

    HANDLERS[event_class](incoming(event_class, order))

    order.refresh_from_db()
    assert order.status == after
    assert outbox_of(order) == published


def test_a_refund_is_noted_once_in_the_history_without_changing_the_status(order_in):
    order = order_in(OrderStatus.SHIPMENT_FAILED, price="10.00", quantity=3)
    first, second = (incoming(PaymentRefundedEvent, order) for _ in range(2))

    noted = services.record_refund(
        order_number=order.order_number, amount=first.amount, reason=first.reason, cause=first
    )
    again = services.record_refund(
        order_number=order.order_number, amount=second.amount, reason=second.reason, cause=second
    )

    assert (noted is not None, again) == (True, None)
    order.refresh_from_db()
    assert order.status == OrderStatus.SHIPMENT_FAILED
    refunds = list(order.history.filter(event_type="PaymentRefundedEvent"))
    assert [(r.from_status, r.to_status, r.event_id) for r in refunds] == [
        (OrderStatus.SHIPMENT_FAILED, OrderStatus.SHIPMENT_FAILED, first.event_id)
    ]
    assert refunds[0].reason == "refunded 30.00: shipment failed"
    assert outbox_of(order)[-1].event_type == "OrderShipmentFailedEvent"


def test_an_event_for_an_unknown_order_changes_nothing_and_is_counted(place_order):
    place_order()
    cause = InventoryReservedEvent.new(
        order_id=10**9, order_number=uuid.uuid4(), sku_code="SKU-1", reserved_quantity=1
    )
    before = sample("saga_ignored_events_total", reason="unknown_order")

    assert services.confirm_order(order_number=cause.order_number, cause=cause) is None

    assert sample("saga_ignored_events_total", reason="unknown_order") == before + 1
    assert not Order.objects.filter(order_number=cause.order_number).exists()
    assert [row.event_type for row in OutboxMessage.objects.all()] == ["OrderPlacedEvent"]


def test_a_change_rolled_back_by_its_caller_leaves_no_status_history_or_event(order_in):
    order = order_in(OrderStatus.PENDING)
    cause = incoming(InventoryReservedEvent, order)

    with pytest.raises(RuntimeError), transaction.atomic():
        services.confirm_order(order_number=order.order_number, cause=cause)
        raise RuntimeError("the worker's transaction failed after the handler")

    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING
    assert order.history.count() == 1
    assert [row.event_type for row in outbox_of(order)] == ["OrderPlacedEvent"]
