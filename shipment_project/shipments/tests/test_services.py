"""Shipping against the real database: the carrier's decision, at most once per order."""

import re
import threading

import pytest
from django.db import IntegrityError, connection, transaction

from saga_events import ShipmentFailedEvent, ShipmentShippedEvent
from saga_runtime.models import OutboxMessage
from saga_runtime.testing import outbox_events
from shipments import services
from shipments.models import Shipment, ShipmentStatus
from shipments.tests.conftest import order_paid

pytestmark = pytest.mark.django_db


def shipment_of(order) -> Shipment:
    return Shipment.objects.get(order_number=order.order_number)


def test_ship_order_within_the_parcel_limit_ships_it_and_queues_shipment_shipped():
    order = order_paid(3)

    services.ship_order(order=order)

    shipment = shipment_of(order)
    assert (shipment.status, shipment.order_id, shipment.sku_code, shipment.quantity) == (
        ShipmentStatus.SHIPPED,
        order.order_id,
        "SKU-1",
        3,
    )
    assert re.fullmatch(r"TRK-[0-9A-F]{12}", shipment.tracking_number)
    assert shipment.reason == ""
    [shipped] = outbox_events(ShipmentShippedEvent, order.order_number)
    assert shipped.order_id == order.order_id
    assert not outbox_events(ShipmentFailedEvent, order.order_number)


def test_ship_order_exactly_at_the_parcel_limit_ships_it(decisions):
    order = order_paid(decisions.SHIPMENT_MAX_PARCEL_QUANTITY)

    services.ship_order(order=order)

    assert shipment_of(order).status == ShipmentStatus.SHIPPED


def test_ship_order_over_the_parcel_limit_is_rejected_and_queues_shipment_failed(decisions):
    decisions.SHIPMENT_MAX_PARCEL_QUANTITY = 10
    order = order_paid(11)

    services.ship_order(order=order)

    shipment = shipment_of(order)
    assert (shipment.status, shipment.tracking_number) == (ShipmentStatus.REJECTED, "")
    assert shipment.reason == "11 units exceed the carrier's parcel limit of 10"
    [failed] = outbox_events(ShipmentFailedEvent, order.order_number)
    assert failed.reason == shipment.reason
    assert not outbox_events(ShipmentShippedEvent, order.order_number)


@pytest.mark.parametrize(
    ("rate", "status"), [(1.0, ShipmentStatus.SHIPPED), (0.0, ShipmentStatus.REJECTED)]
)
def test_order_paid_without_a_quantity_is_judged_by_the_rate(decisions, rate, status):
    decisions.SHIPMENT_SUCCESS_RATE = rate
    order = order_paid(None)

    services.ship_order(order=order)

    shipment = shipment_of(order)
    assert (shipment.status, shipment.quantity, shipment.sku_code) == (status, None, "")
    assert OutboxMessage.objects.filter(key=str(order.order_number)).count() == 1


@pytest.mark.parametrize(
    ("sku", "stored"),
    [("S" * 100, "S" * 64), ("SKU\x001", "SKU\ufffd1"), ("SKU\ud8001", "SKU\ufffd1")],
    ids=["too-long", "nul", "surrogate"],
)
def test_a_sku_the_column_cannot_hold_does_not_stop_the_shipment(sku, stored):
    """The SKU only describes the parcel; a producer without our order API's checks may send
    any string."""
    order = order_paid(2, sku_code=sku)

    services.ship_order(order=order)

    shipment = shipment_of(order)
    assert (shipment.status, shipment.sku_code) == (ShipmentStatus.SHIPPED, stored)
    assert len(outbox_events(ShipmentShippedEvent, order.order_number)) == 1


@pytest.mark.parametrize("first_quantity", [1, 51], ids=["shipped", "rejected"])
def test_second_order_paid_for_a_shipped_order_ships_nothing_more(first_quantity):
    order = order_paid(first_quantity)
    services.ship_order(order=order)
    first = shipment_of(order)

    again = order_paid(1, order_id=order.order_id, order_number=order.order_number)
    assert services.ship_order(order=again) is None

    assert Shipment.objects.filter(order_number=order.order_number).count() == 1
    assert (shipment_of(order).status, shipment_of(order).tracking_number) == (
        first.status,
        first.tracking_number,
    )
    assert OutboxMessage.objects.filter(key=str(order.order_number)).count() == 1


def test_every_shipment_gets_its_own_tracking_number():
    orders = [order_paid(1) for _ in range(20)]
    for order in orders:
        services.ship_order(order=order)

    numbers = {shipment_of(order).tracking_number for order in orders}

    assert len(numbers) == 20


def test_database_rejects_an_unknown_status():
    order = order_paid(1)
    services.ship_order(order=order)

    with pytest.raises(IntegrityError), transaction.atomic():
        Shipment.objects.filter(order_number=order.order_number).update(status="LOST")

    assert shipment_of(order).status == ShipmentStatus.SHIPPED


@pytest.mark.django_db(transaction=True)
def test_concurrent_order_paid_for_one_order_ships_once():
    order = order_paid(2)
    again = order_paid(2, order_id=order.order_id, order_number=order.order_number)
    start = threading.Barrier(2)
    results: list = []

    def ship(event) -> None:
        try:
            start.wait(timeout=30)
            results.append(services.ship_order(order=event))
        except IntegrityError as error:
            results.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=ship, args=(event,)) for event in (order, again)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    # The loser's insert waited for the winner's commit, then found its row: no error.
    assert sorted(isinstance(r, Shipment) for r in results) == [False, True]
    assert [r for r in results if not isinstance(r, Shipment)] == [None]
    assert Shipment.objects.filter(order_number=order.order_number).count() == 1
    assert OutboxMessage.objects.filter(key=str(order.order_number)).count() == 1
