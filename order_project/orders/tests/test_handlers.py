"""The order saga through the real broker: events go in on their topics, the session's worker
applies them, the relay publishes what the order service answers."""

import uuid
from datetime import datetime

import pytest
from django.db import transaction

from orders.models import Order, OrderStatus
from orders.tests.conftest import incoming, sample
from saga_events import (
    InventoryFailedEvent,
    InventoryReleasedEvent,
    InventoryReservedEvent,
    OrderConfirmedEvent,
    OrderFailedEvent,
    OrderPaidEvent,
    OrderShipmentFailedEvent,
    PaymentFailedEvent,
    PaymentRefundedEvent,
    PaymentSucceededEvent,
    ShipmentFailedEvent,
    ShipmentShippedEvent,
)
from saga_events.codec import decode
from saga_runtime import outbox
from saga_runtime.models import OutboxMessage, ProcessedEvent

pytestmark = pytest.mark.django_db(transaction=True)

S = OrderStatus

#: The contract's state machine: (status, incoming event) → (new status, event published).
#: A refund or a release changes no status; it is only noted in the history. A release may
#: come while the order is CONFIRMED: it answers payment's PaymentFailed, which the order gets
#: on its own.
TRANSITIONS = {
    (S.PENDING, InventoryReservedEvent): (S.CONFIRMED, OrderConfirmedEvent),
    (S.PENDING, InventoryFailedEvent): (S.FAILED, OrderFailedEvent),
    (S.CONFIRMED, PaymentSucceededEvent): (S.PAID, OrderPaidEvent),
    (S.CONFIRMED, PaymentFailedEvent): (S.PAYMENT_FAILED, None),
    (S.PAID, ShipmentShippedEvent): (S.SHIPPED, None),
    (S.PAID, ShipmentFailedEvent): (S.SHIPMENT_FAILED, OrderShipmentFailedEvent),
    (S.SHIPMENT_FAILED, PaymentRefundedEvent): (S.SHIPMENT_FAILED, None),
    (S.PAYMENT_FAILED, PaymentRefundedEvent): (S.PAYMENT_FAILED, None),
    (S.CONFIRMED, InventoryReleasedEvent): (S.CONFIRMED, None),
    (S.FAILED, InventoryReleasedEvent): (S.FAILED, None),
    (S.PAYMENT_FAILED, InventoryReleasedEvent): (S.PAYMENT_FAILED, None),
    (S.SHIPMENT_FAILED, InventoryReleasedEvent): (S.SHIPMENT_FAILED, None),
}
INCOMING = sorted({event_class for _, event_class in TRANSITIONS}, key=lambda c: c.__name__)
#: Every other (status, event) pair: an out-of-order or late event that must change nothing.
MISFITS = [
    (status, event_class)
    for status in OrderStatus
    for event_class in INCOMING
    if (status, event_class) not in TRANSITIONS
]


def state_of(order: Order) -> tuple:
    """Everything an event could change: the order row, its history and the whole outbox."""
    order = Order.objects.get(pk=order.pk)
    return (
        order.status,
        order.failure_reason,
        order.updated_at,
        list(order.history.values_list("id", flat=True)),
        list(OutboxMessage.objects.values_list("id", flat=True)),
    )


def published_by(order: Order) -> list[str]:
    return list(
        OutboxMessage.objects.filter(key=str(order.order_number))
        .order_by("id")
        .values_list("event_type", flat=True)
    )


def test_inventory_reserved_confirms_the_order_and_asks_for_payment(
    order_in, deliver, relay, kafka
):
    order = order_in(S.PENDING, price="19.95", quantity=3)
    event = incoming(InventoryReservedEvent, order)

    deliver(event)
    relay.publish_all()

    order.refresh_from_db()
    assert order.status == S.CONFIRMED
    line = order.history.last()
    assert (line.from_status, line.to_status, line.event_id) == (
        S.PENDING,
        S.CONFIRMED,
        event.event_id,
    )
    [confirmed] = kafka.read_events(OrderConfirmedEvent, order_number=order.order_number)
    assert (confirmed.order_id, str(confirmed.price), confirmed.quantity) == (order.id, "19.95", 3)


def test_inventory_failed_fails_the_order_with_its_reason_and_tells_inventory(
    order_in, deliver, relay, kafka
):
    order = order_in(S.PENDING, sku_code="SKU-NONE", quantity=4)

    deliver(incoming(InventoryFailedEvent, order, reason="unknown SKU SKU-NONE"))
    relay.publish_all()

    order.refresh_from_db()
    assert (order.status, order.failure_reason) == (S.FAILED, "unknown SKU SKU-NONE")
    [failed] = kafka.read_events(OrderFailedEvent, order_number=order.order_number)
    assert (failed.order_id, failed.sku_code, failed.reserved_quantity, failed.reason) == (
        order.id,
        "SKU-NONE",
        0,
        "unknown SKU SKU-NONE",
    )


def test_payment_succeeded_marks_the_order_paid_and_asks_for_shipment(
    order_in, deliver, relay, kafka
):
    order = order_in(S.CONFIRMED, sku_code="SKU-P", quantity=7)

    deliver(incoming(PaymentSucceededEvent, order))
    relay.publish_all()

    order.refresh_from_db()
    assert order.status == S.PAID
    [paid] = kafka.read_events(OrderPaidEvent, order_number=order.order_number)
    assert (paid.order_id, paid.sku_code, paid.quantity) == (order.id, "SKU-P", 7)


def test_payment_failed_ends_the_order_payment_failed_and_publishes_nothing(order_in, deliver):
    order = order_in(S.CONFIRMED)
    published = published_by(order)

    deliver(incoming(PaymentFailedEvent, order, reason="amount above 5000.00"))

    order.refresh_from_db()
    assert (order.status, order.failure_reason) == (S.PAYMENT_FAILED, "amount above 5000.00")
    assert published_by(order) == published


def test_shipment_shipped_ends_the_saga_shipped(order_in, deliver):
    order = order_in(S.PAID)
    published = published_by(order)

    deliver(incoming(ShipmentShippedEvent, order))

    order.refresh_from_db()
    assert (order.status, order.failure_reason) == (S.SHIPPED, "")
    assert published_by(order) == published


def test_shipment_failed_asks_inventory_and_payment_to_compensate(order_in, deliver, relay, kafka):
    order = order_in(S.PAID)

    deliver(incoming(ShipmentFailedEvent, order, reason="parcel of 60 above 50"))
    relay.publish_all()

    order.refresh_from_db()
    assert (order.status, order.failure_reason) == (S.SHIPMENT_FAILED, "parcel of 60 above 50")
    [failed] = kafka.read_events(OrderShipmentFailedEvent, order_number=order.order_number)
    assert (failed.order_id, failed.reason) == (order.id, "parcel of 60 above 50")


def test_a_refund_is_noted_once_even_when_a_second_refund_event_arrives(order_in, deliver):
    order = order_in(S.SHIPMENT_FAILED, price="25.00", quantity=2)
    first, second = incoming(PaymentRefundedEvent, order), incoming(PaymentRefundedEvent, order)
    published = published_by(order)

    deliver(first)
    deliver(second)

    order.refresh_from_db()
    assert order.status == S.SHIPMENT_FAILED
    refunds = list(order.history.filter(event_type="PaymentRefundedEvent"))
    assert [(r.event_id, r.to_status, r.reason) for r in refunds] == [
        (first.event_id, S.SHIPMENT_FAILED, "refunded 50.00: shipment failed")
    ]
    assert published_by(order) == published
    # Both records were applied (not dead-lettered); the second simply found nothing to do.
    applied = ProcessedEvent.objects.filter(event_id__in=[first.event_id, second.event_id])
    assert applied.count() == 2


def test_the_same_event_delivered_twice_confirms_once_and_asks_for_payment_once(
    order_in, deliver, relay, kafka
):
    order = order_in(S.PENDING)
    event = incoming(InventoryReservedEvent, order)

    deliver(event)
    deliver(event)
    # A marker behind the answer on the same partition: once it is read, so is any repeat.
    marker = OrderConfirmedEvent.new(
        order_id=order.id, order_number=order.order_number, price=order.price, quantity=1
    )
    with transaction.atomic():
        outbox.publish(marker)
    relay.publish_all()

    order.refresh_from_db()
    assert order.status == S.CONFIRMED
    assert list(order.history.values_list("to_status", flat=True)) == [S.PENDING, S.CONFIRMED]
    assert published_by(order) == ["OrderPlacedEvent", "OrderConfirmedEvent", "OrderConfirmedEvent"]
    received = kafka.read_events(OrderConfirmedEvent, order_number=order.order_number, count=2)
    assert [e.quantity for e in received] == [order.quantity, 1]
    assert received[-1].event_id == marker.event_id


@pytest.mark.parametrize(
    ("status", "event_class"), list(TRANSITIONS), ids=lambda v: getattr(v, "__name__", v)
)
def test_every_event_delivered_twice_makes_one_history_line_and_at_most_one_outbox_row(
    order_in, deliver, status, event_class
):
    order = order_in(status)
    history, published = order.history.count(), published_by(order)
    event = incoming(event_class, order)

    deliver(event)
    deliver(event)

    new_status, answer = TRANSITIONS[(status, event_class)]
    order.refresh_from_db()
    assert order.status == new_status
    assert order.history.count() == history + 1
    assert published_by(order) == published + ([answer.event_type] if answer else [])
    assert ProcessedEvent.objects.filter(event_id=event.event_id).count() == 1


@pytest.mark.parametrize(
    ("status", "event_class"), MISFITS, ids=lambda v: getattr(v, "__name__", v)
)
def test_an_event_that_does_not_fit_the_orders_status_changes_nothing_and_publishes_nothing(
    order_in, deliver, status, event_class
):
    order = order_in(status)
    before = state_of(order)
    ignored = sample("saga_ignored_events_total", reason="wrong_state")
    event = incoming(event_class, order)

    deliver(event)  # returns once the worker has committed the record's offset

    assert state_of(order) == before
    assert sample("saga_ignored_events_total", reason="wrong_state") == ignored + 1
    assert ProcessedEvent.objects.filter(event_id=event.event_id).exists()


def test_after_an_early_event_is_ignored_the_worker_goes_on_with_the_next_one(order_in, deliver):
    order = order_in(S.PENDING)
    too_early = incoming(PaymentSucceededEvent, order)

    deliver(too_early)
    deliver(incoming(InventoryReservedEvent, order))
    deliver(incoming(PaymentSucceededEvent, order))

    order.refresh_from_db()
    assert order.status == S.PAID
    assert too_early.event_id not in set(order.history.values_list("event_id", flat=True))


def test_an_event_for_an_unknown_order_is_ignored_without_error(place_order, deliver):
    place_order()
    before = list(OutboxMessage.objects.values_list("id", flat=True))
    unknown = sample("saga_ignored_events_total", reason="unknown_order")
    event = InventoryReservedEvent.new(
        order_id=987654, order_number=uuid.uuid4(), sku_code="SKU-1", reserved_quantity=1
    )

    deliver(event)

    assert not Order.objects.filter(order_number=event.order_number).exists()
    assert list(OutboxMessage.objects.values_list("id", flat=True)) == before
    assert sample("saga_ignored_events_total", reason="unknown_order") == unknown + 1
    # Applied, not dead-lettered: a dead-lettered record leaves no processed-events row.
    assert ProcessedEvent.objects.filter(event_id=event.event_id).exists()


def test_a_full_saga_shows_every_transition_in_the_orders_history(client, deliver):
    response = client.post(
        "/api/orders",
        {"skuCode": "SKU-H", "price": "10.00", "quantity": 2},
        content_type="application/json",
    )
    order = Order.objects.get(pk=response.json()["id"])
    placed_id = response.json()["history"][0]["eventId"]
    events = [
        incoming(InventoryReservedEvent, order),
        incoming(PaymentSucceededEvent, order),
        incoming(ShipmentShippedEvent, order),
    ]
    for event in events:  # one at a time, as each is the answer to the order's previous event
        deliver(event)

    body = client.get(f"/api/orders/{order.pk}").json()

    assert body["status"] == S.SHIPPED
    history = body["history"]
    assert [(h["fromStatus"], h["toStatus"], h["eventType"], h["eventId"]) for h in history] == [
        ("", S.PENDING, "OrderPlacedEvent", placed_id),
        (S.PENDING, S.CONFIRMED, "InventoryReservedEvent", str(events[0].event_id)),
        (S.CONFIRMED, S.PAID, "PaymentSucceededEvent", str(events[1].event_id)),
        (S.PAID, S.SHIPPED, "ShipmentShippedEvent", str(events[2].event_id)),
    ]
    times = [datetime.fromisoformat(h["occurredAt"]) for h in history]
    assert times == sorted(times)
    assert times[0] >= datetime.fromisoformat(body["createdAt"])
    assert datetime.fromisoformat(body["updatedAt"]) > times[-2]  # touched by the last step


def test_a_failed_shipment_shows_its_reason_and_the_refund_in_the_history(client, deliver):
    order = Order.objects.get(
        pk=client.post(
            "/api/orders",
            {"skuCode": "SKU-R", "price": "99.99", "quantity": 60},
            content_type="application/json",
        ).json()["id"]
    )
    for event_class in (InventoryReservedEvent, PaymentSucceededEvent):
        deliver(incoming(event_class, order))
    deliver(incoming(ShipmentFailedEvent, order, reason="parcel of 60 above 50"))
    refund = incoming(PaymentRefundedEvent, order, reason="shipment failed")
    deliver(refund)

    body = client.get(f"/api/orders/{order.pk}").json()

    assert (body["status"], body["failureReason"]) == (S.SHIPMENT_FAILED, "parcel of 60 above 50")
    assert [(h["toStatus"], h["eventType"], h["reason"]) for h in body["history"][-2:]] == [
        (S.SHIPMENT_FAILED, "ShipmentFailedEvent", "parcel of 60 above 50"),
        (S.SHIPMENT_FAILED, "PaymentRefundedEvent", "refunded 5999.40: shipment failed"),
    ]
    assert body["history"][-1]["eventId"] == str(refund.event_id)


@pytest.mark.parametrize(
    ("status", "event_class"),
    [
        (S.PENDING, InventoryFailedEvent),
        (S.CONFIRMED, PaymentFailedEvent),
        (S.PAID, ShipmentFailedEvent),
        (S.SHIPMENT_FAILED, PaymentRefundedEvent),
    ],
    ids=lambda v: getattr(v, "__name__", v),
)
def test_a_reason_the_database_cannot_store_as_sent_still_moves_the_order(
    order_in, deliver, status, event_class
):
    # Valid JSON ("\u0000", a lone "\ud800") that PostgreSQL text cannot hold: were the event
    # refused, it would be dead-lettered and the order left waiting for ever.
    order = order_in(status)
    event = incoming(event_class, order, reason="no\u0000stock \ud800")

    deliver(event)

    order.refresh_from_db()
    line = order.history.last()
    assert (line.event_id, order.status) == (event.event_id, TRANSITIONS[(status, event_class)][0])
    assert line.reason.endswith("no\ufffdstock \ufffd")
    if event_class is not PaymentRefundedEvent:
        assert order.failure_reason == "no\ufffdstock \ufffd"
    answer = TRANSITIONS[(status, event_class)][1]
    if answer is not None:  # the other services get the text as stored, not the raw one
        row = OutboxMessage.objects.filter(key=str(order.order_number)).latest("id")
        assert decode(answer, row.payload).reason == "no\ufffdstock \ufffd"
