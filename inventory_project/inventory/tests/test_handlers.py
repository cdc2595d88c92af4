"""The inventory worker through the real broker: an event in, rows in PostgreSQL, an event out."""

import pytest
from prometheus_client import REGISTRY

from inventory import services
from inventory.handlers import handle_orders_placed
from inventory.models import MAX_STOCK, Reservation, ReservationStatus
from inventory.tests.conftest import assert_accounted_for, new_sku, order_placed, stock_of
from saga_events import (
    InventoryFailedEvent,
    InventoryReservedEvent,
    OrderFailedEvent,
    OrderShipmentFailedEvent,
    PaymentFailedEvent,
    ShipmentShippedEvent,
)
from saga_runtime.errors import InvalidEvent
from saga_runtime.models import OutboxMessage, ProcessedEvent
from saga_runtime.testing import run_worker_until
from saga_runtime.worker import Outcome

pytestmark = pytest.mark.django_db(transaction=True)


def reservation_of(order) -> Reservation | None:
    return Reservation.objects.filter(order_number=order.order_number).first()


def status_becomes(order, status: str):
    return lambda: Reservation.objects.filter(
        order_number=order.order_number, status=status
    ).exists()


def payment_failed(order) -> PaymentFailedEvent:
    return PaymentFailedEvent.new(
        order_id=order.order_id,
        order_number=order.order_number,
        amount=order.price * order.quantity,
        reason="amount exceeds the limit",
    )


def order_shipment_failed(order) -> OrderShipmentFailedEvent:
    return OrderShipmentFailedEvent.new(
        order_id=order.order_id, order_number=order.order_number, reason="parcel too large"
    )


def shipment_shipped(order) -> ShipmentShippedEvent:
    return ShipmentShippedEvent.new(order_id=order.order_id, order_number=order.order_number)


# -- OrderPlaced ----------------------------------------------------------------------------


def test_order_placed_holds_the_stock_and_publishes_inventory_reserved(
    kafka, saga_worker, relay, published
):
    sku = new_sku()
    services.add_stock(sku_code=sku, quantity=10)
    order = order_placed(sku, 3)

    kafka.send_event(order)
    run_worker_until(saga_worker, lambda: reservation_of(order))
    relay.publish_all()

    reservation = reservation_of(order)
    assert (reservation.status, reservation.quantity, reservation.order_id) == (
        ReservationStatus.HELD,
        3,
        order.order_id,
    )
    assert (stock_of(sku).available, stock_of(sku).reserved) == (7, 3)
    [reserved] = published(InventoryReservedEvent, order.order_number)
    assert (reserved.order_id, reserved.sku_code, reserved.reserved_quantity) == (
        order.order_id,
        sku,
        3,
    )
    assert published(InventoryFailedEvent, order.order_number) == []


def test_order_placed_for_an_unknown_sku_is_rejected_with_inventory_failed(
    kafka, saga_worker, relay, published
):
    order = order_placed(new_sku(), 1)

    kafka.send_event(order)
    run_worker_until(saga_worker, lambda: reservation_of(order))
    relay.publish_all()

    reservation = reservation_of(order)
    assert reservation.status == ReservationStatus.REJECTED
    [failed] = published(InventoryFailedEvent, order.order_number)
    assert (failed.sku_code, failed.requested_quantity) == (order.sku_code, 1)
    assert failed.reason == reservation.reason == f"unknown SKU {order.sku_code}"
    assert published(InventoryReservedEvent, order.order_number) == []


def test_order_placed_for_a_sku_longer_than_any_stock_is_rejected_not_dead_lettered(
    kafka, outcomes_of, relay, published
):
    """The seed's order service does not limit the SKU's length; ours rejects it as unknown."""
    order = order_placed("S" * 100, 1)

    kafka.send_event(order)
    assert outcomes_of(order.order_number, count=1) == [Outcome.HANDLED]
    relay.publish_all()

    assert reservation_of(order).status == ReservationStatus.REJECTED
    [failed] = published(InventoryFailedEvent, order.order_number)
    assert (failed.sku_code, failed.reason) == ("S" * 100, f"unknown SKU {'S' * 100}")


def test_order_placed_beyond_the_stock_is_rejected_with_inventory_failed(
    kafka, saga_worker, relay, published
):
    sku = new_sku()
    services.add_stock(sku_code=sku, quantity=2)
    order = order_placed(sku, 3)

    kafka.send_event(order)
    run_worker_until(saga_worker, lambda: reservation_of(order))
    relay.publish_all()

    assert reservation_of(order).status == ReservationStatus.REJECTED
    assert (stock_of(sku).available, stock_of(sku).reserved) == (2, 0)
    [failed] = published(InventoryFailedEvent, order.order_number)
    assert (failed.requested_quantity, failed.reason) == (3, f"insufficient stock for {sku}")


def test_order_placed_delivered_twice_reserves_once_and_publishes_once(
    kafka, outcomes_of, relay, published
):
    sku = new_sku()
    services.add_stock(sku_code=sku, quantity=10)
    order = order_placed(sku, 4)

    kafka.send_event(order)
    kafka.send_event(order)
    assert outcomes_of(order.order_number, count=2) == [Outcome.HANDLED, Outcome.DUPLICATE]
    relay.publish_all()

    assert Reservation.objects.filter(order_number=order.order_number).count() == 1
    assert (stock_of(sku).available, stock_of(sku).reserved) == (6, 4)
    assert len(published(InventoryReservedEvent, order.order_number)) == 1


def test_second_order_placed_with_a_new_event_id_reserves_once_and_publishes_once(
    kafka, outcomes_of, relay, published
):
    sku = new_sku()
    services.add_stock(sku_code=sku, quantity=10)
    order = order_placed(sku, 4)
    again = order_placed(sku, 4, order_id=order.order_id, order_number=order.order_number)

    kafka.send_event(order)
    kafka.send_event(again)
    assert outcomes_of(order.order_number, count=2) == [Outcome.HANDLED, Outcome.HANDLED]
    relay.publish_all()

    assert ProcessedEvent.objects.filter(event_id__in=[order.event_id, again.event_id]).count() == 2
    assert Reservation.objects.filter(order_number=order.order_number).count() == 1
    assert (stock_of(sku).available, stock_of(sku).reserved) == (6, 4)
    assert len(published(InventoryReservedEvent, order.order_number)) == 1


# -- compensation ---------------------------------------------------------------------------


def test_payment_failed_releases_exactly_the_reserved_quantity(kafka, saga_worker, held):
    sku, order = held

    kafka.send_event(payment_failed(order))
    run_worker_until(saga_worker, status_becomes(order, ReservationStatus.RELEASED))

    assert reservation_of(order).reason == "amount exceeds the limit"
    stock = stock_of(sku)
    assert (stock.available, stock.reserved, stock.shipped, stock.total_added) == (10, 0, 0, 10)


def test_payment_failed_delivered_twice_releases_once(kafka, outcomes_of, held):
    sku, order = held
    event = payment_failed(order)

    kafka.send_event(event)
    kafka.send_event(event)

    assert outcomes_of(order.order_number, count=2) == [Outcome.HANDLED, Outcome.DUPLICATE]
    assert reservation_of(order).status == ReservationStatus.RELEASED
    assert (stock_of(sku).available, stock_of(sku).reserved) == (10, 0)


@pytest.mark.parametrize("same_event_id", [True, False], ids=["same-event", "new-event-id"])
def test_order_shipment_failed_delivered_twice_releases_the_stock_once(
    kafka, outcomes_of, held, same_event_id
):
    sku, order = held
    first = order_shipment_failed(order)
    second = first if same_event_id else order_shipment_failed(order)

    kafka.send_event(first)
    kafka.send_event(second)
    outcomes_of(order.order_number, count=2)

    reservation = reservation_of(order)
    assert (reservation.status, reservation.reason) == (
        ReservationStatus.RELEASED,
        "parcel too large",
    )
    stock = stock_of(sku)
    assert (stock.available, stock.reserved, stock.shipped) == (10, 0, 0)
    assert_accounted_for(stock)


def test_payment_failed_with_a_nul_in_its_reason_still_releases_the_stock(kafka, saga_worker, held):
    """A reason is free text from another service; PostgreSQL cannot store a NUL in it."""
    sku, order = held
    event = PaymentFailedEvent.new(
        order_id=order.order_id,
        order_number=order.order_number,
        amount=order.price * order.quantity,
        reason="card\x00declined",
    )

    kafka.send_event(event)
    run_worker_until(saga_worker, status_becomes(order, ReservationStatus.RELEASED))

    assert reservation_of(order).reason == "card\ufffddeclined"
    assert (stock_of(sku).available, stock_of(sku).reserved) == (10, 0)


def test_payment_failed_without_a_reservation_changes_nothing_and_publishes_nothing(
    kafka, outcomes_of, held
):
    sku, _ = held
    stranger = order_placed(sku, 4)

    kafka.send_event(payment_failed(stranger))

    assert outcomes_of(stranger.order_number, count=1) == [Outcome.HANDLED]
    assert reservation_of(stranger) is None
    assert (stock_of(sku).available, stock_of(sku).reserved) == (6, 4)
    assert not OutboxMessage.objects.filter(key=str(stranger.order_number)).exists()


def test_order_failed_releases_nothing_when_nothing_was_held(kafka, outcomes_of, held):
    sku, _ = held
    refused = order_placed(sku, 7)  # 6 left: rejected
    services.reserve_stock(order=refused)

    kafka.send_event(
        OrderFailedEvent.new(
            order_id=refused.order_id,
            order_number=refused.order_number,
            sku_code=sku,
            reserved_quantity=0,
            reason=f"insufficient stock for {sku}",
        )
    )

    assert outcomes_of(refused.order_number, count=1) == [Outcome.HANDLED]
    assert reservation_of(refused).status == ReservationStatus.REJECTED
    stock = stock_of(sku)
    assert (stock.available, stock.reserved, stock.total_added) == (6, 4, 10)
    assert OutboxMessage.objects.filter(key=str(refused.order_number)).count() == 1


# -- ShipmentShipped ------------------------------------------------------------------------


def test_shipment_shipped_makes_the_reservation_final(kafka, saga_worker, held):
    sku, order = held

    kafka.send_event(shipment_shipped(order))
    run_worker_until(saga_worker, status_becomes(order, ReservationStatus.SHIPPED))

    stock = stock_of(sku)
    assert (stock.available, stock.reserved, stock.shipped, stock.total_added) == (6, 0, 4, 10)


def test_shipment_shipped_twice_ships_once_and_a_later_release_gives_nothing_back(
    kafka, outcomes_of, held
):
    sku, order = held

    kafka.send_event(shipment_shipped(order))
    kafka.send_event(shipment_shipped(order))
    assert outcomes_of(order.order_number, count=2) == [Outcome.HANDLED, Outcome.HANDLED]
    # Sent only now: records of two topics have no order between them.
    kafka.send_event(order_shipment_failed(order))

    assert outcomes_of(order.order_number, count=1) == [Outcome.HANDLED]
    assert reservation_of(order).status == ReservationStatus.SHIPPED
    stock = stock_of(sku)
    assert (stock.available, stock.reserved, stock.shipped) == (6, 0, 4)


# -- a whole saga ---------------------------------------------------------------------------


def test_stock_is_accounted_for_after_a_mix_of_sagas(kafka, saga_worker, relay, published):
    sku = new_sku()
    services.add_stock(sku_code=sku, quantity=12)
    shipped, declined, refused, carrier_rejected = (order_placed(sku, q) for q in (5, 4, 9, 2))

    for order in (shipped, declined, refused, carrier_rejected):
        kafka.send_event(order)
    run_worker_until(saga_worker, lambda: Reservation.objects.filter(sku_code=sku).count() == 4)
    kafka.send_event(shipment_shipped(shipped))
    kafka.send_event(payment_failed(declined))
    kafka.send_event(order_shipment_failed(carrier_rejected))
    run_worker_until(
        saga_worker,
        lambda: not Reservation.objects.filter(sku_code=sku, status=ReservationStatus.HELD),
    )
    relay.publish_all()

    statuses = {
        o.quantity: reservation_of(o).status for o in (shipped, declined, refused, carrier_rejected)
    }
    assert statuses == {5: "SHIPPED", 4: "RELEASED", 9: "REJECTED", 2: "RELEASED"}
    stock = stock_of(sku)
    assert (stock.available, stock.reserved, stock.shipped, stock.total_added) == (7, 0, 5, 12)
    assert_accounted_for(stock)
    assert [
        e.reserved_quantity for e in published(InventoryReservedEvent, shipped.order_number)
    ] == [5]
    assert [
        e.requested_quantity for e in published(InventoryFailedEvent, refused.order_number)
    ] == [9]


def test_order_placed_for_no_units_is_dead_lettered_at_once_without_retries(kafka, outcomes_of):
    order = order_placed(new_sku(), 0)
    topic = kafka.config.topic(type(order))
    retried = retries_on(topic)

    kafka.send_event(order)

    assert outcomes_of(order.order_number, count=1) == [Outcome.DEAD_LETTERED]
    assert retries_on(topic) == retried
    assert reservation_of(order) is None
    headers = dict(kafka.parked(topic, order.order_number).headers())
    assert headers["dlt-error-class"] == b"InvalidEvent"
    assert headers["dlt-error-message"] == f"quantity 0 is not between 1 and {MAX_STOCK}".encode()


def test_a_list_of_order_placed_with_one_impossible_quantity_fails_whole_and_reserves_nothing():
    """The worker then applies the list's records one at a time, and parks only that one
    (saga_runtime's test_a_list_that_fails_is_applied_again_one_record_at_a_time)."""
    sku = new_sku()
    services.add_stock(sku_code=sku, quantity=10)
    good, impossible = order_placed(sku, 2), order_placed(sku, MAX_STOCK + 1)

    with pytest.raises(InvalidEvent, match=f"quantity {MAX_STOCK + 1} is not between"):
        handle_orders_placed([good, impossible])

    assert reservation_of(good) is None
    assert stock_of(sku).available == 10


def retries_on(topic: str) -> float:
    return (
        REGISTRY.get_sample_value("saga_records_total", {"topic": topic, "outcome": "retried"}) or 0
    )
