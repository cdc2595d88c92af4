"""The shipment worker through the real broker: an event in, rows in PostgreSQL, an event out."""

import pytest

from saga_events import ShipmentFailedEvent, ShipmentShippedEvent
from saga_events.codec import encode
from saga_runtime.testing import run_worker_until
from saga_runtime.worker import Outcome
from shipments.models import MAX_QUANTITY, Shipment, ShipmentStatus
from shipments.tests.conftest import order_paid

pytestmark = pytest.mark.django_db(transaction=True)


def shipment_of(order) -> Shipment | None:
    return Shipment.objects.filter(order_number=order.order_number).first()


def test_order_paid_ships_and_publishes_shipment_shipped(kafka, saga_worker, relay, published):
    order = order_paid(3)

    kafka.send_event(order)
    run_worker_until(saga_worker, lambda: shipment_of(order))
    relay.publish_all()

    shipment = shipment_of(order)
    assert (shipment.status, shipment.quantity, shipment.sku_code) == (
        ShipmentStatus.SHIPPED,
        3,
        "SKU-1",
    )
    assert shipment.tracking_number
    [shipped] = published(ShipmentShippedEvent, order.order_number)
    assert shipped.order_id == order.order_id
    assert published(ShipmentFailedEvent, order.order_number) == []


def test_order_paid_over_the_parcel_limit_is_rejected_with_shipment_failed(
    kafka, saga_worker, relay, published, decisions
):
    decisions.SHIPMENT_MAX_PARCEL_QUANTITY = 10
    order = order_paid(11)

    kafka.send_event(order)
    run_worker_until(saga_worker, lambda: shipment_of(order))
    relay.publish_all()

    shipment = shipment_of(order)
    assert (shipment.status, shipment.tracking_number) == (ShipmentStatus.REJECTED, "")
    [failed] = published(ShipmentFailedEvent, order.order_number)
    assert failed.reason == shipment.reason == "11 units exceed the carrier's parcel limit of 10"
    assert published(ShipmentShippedEvent, order.order_number) == []


@pytest.mark.parametrize(
    ("rate", "status", "event_class"),
    [
        (1.0, ShipmentStatus.SHIPPED, ShipmentShippedEvent),
        (0.0, ShipmentStatus.REJECTED, ShipmentFailedEvent),
    ],
)
def test_order_paid_without_a_quantity_is_shipped_by_the_rate(
    kafka, saga_worker, relay, published, decisions, rate, status, event_class
):
    """As a JVM producer sends it: no skuCode, no quantity."""
    decisions.SHIPMENT_SUCCESS_RATE = rate
    order = order_paid(None)
    value = encode(order)
    assert b"quantity" not in value and b"skuCode" not in value

    kafka.send(
        kafka.config.topic(type(order)),
        value,
        key=str(order.order_number),
        headers={"eventType": "OrderPaidEvent"},
    )
    run_worker_until(saga_worker, lambda: shipment_of(order))
    relay.publish_all()

    shipment = shipment_of(order)
    assert (shipment.status, shipment.quantity) == (status, None)
    assert len(published(event_class, order.order_number)) == 1


def test_order_paid_delivered_twice_ships_once_and_publishes_once(
    kafka, outcomes_of, relay, published
):
    order = order_paid(2)

    kafka.send_event(order)
    kafka.send_event(order)
    assert outcomes_of(order.order_number, count=2) == [Outcome.HANDLED, Outcome.DUPLICATE]
    relay.publish_all()

    assert Shipment.objects.filter(order_number=order.order_number).count() == 1
    assert len(published(ShipmentShippedEvent, order.order_number)) == 1


def test_second_order_paid_with_a_new_event_id_ships_once_and_publishes_once(
    kafka, outcomes_of, relay, published
):
    order = order_paid(2)
    again = order_paid(2, order_id=order.order_id, order_number=order.order_number)

    kafka.send_event(order)
    kafka.send_event(again)
    assert outcomes_of(order.order_number, count=2) == [Outcome.HANDLED, Outcome.HANDLED]
    relay.publish_all()

    assert Shipment.objects.filter(order_number=order.order_number).count() == 1
    assert len(published(ShipmentShippedEvent, order.order_number)) == 1
    assert published(ShipmentFailedEvent, order.order_number) == []


@pytest.mark.parametrize("quantity", [0, -1, MAX_QUANTITY + 1])
def test_order_paid_for_an_impossible_quantity_is_dead_lettered_at_once(
    kafka, outcomes_of, quantity
):
    order = order_paid(quantity)
    topic = kafka.config.topic(type(order))

    kafka.send_event(order)

    assert outcomes_of(order.order_number, count=1) == [Outcome.DEAD_LETTERED]
    assert shipment_of(order) is None
    headers = dict(kafka.parked(topic, order.order_number).headers())
    assert headers["dlt-error-class"] == b"InvalidEvent"
    assert headers["dlt-error-message"] == (
        f"quantity {quantity} is not between 1 and {MAX_QUANTITY}".encode()
    )
