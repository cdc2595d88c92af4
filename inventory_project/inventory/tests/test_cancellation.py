"""An order that failed on its saga deadline (OrderFailed, ADR 0011): inventory must never keep
stock for it, whichever of OrderFailed and OrderPlaced it applies first."""

import pytest

from inventory import services
from inventory.models import Reservation, ReservationStatus
from inventory.tests.conftest import assert_accounted_for, new_sku, order_placed, stock_of
from saga_events import InventoryReleasedEvent, InventoryReservedEvent, OrderFailedEvent
from saga_runtime.testing import outbox_events, run_at_once

pytestmark = pytest.mark.django_db


def order_failed(order, reserved_quantity: int = 0) -> OrderFailedEvent:
    return OrderFailedEvent.new(
        order_id=order.order_id,
        order_number=order.order_number,
        sku_code=order.sku_code,
        reserved_quantity=reserved_quantity,
        reason="inventory did not answer within 300 s (saga deadline)",
    )


def test_order_failed_before_order_placed_leaves_a_marker_so_the_order_never_reserves():
    sku = new_sku()
    services.add_stock(sku_code=sku, quantity=10)
    order = order_placed(sku, 4)

    marker = services.cancel_reservation(order=order_failed(order))
    late = services.reserve_stock(order=order)

    assert late is None
    assert (marker.status, marker.quantity) == (ReservationStatus.CANCELLED, 0)
    assert marker.reason == "inventory did not answer within 300 s (saga deadline)"
    assert (stock_of(sku).available, stock_of(sku).reserved) == (10, 0)
    assert outbox_events(InventoryReservedEvent, order.order_number) == []
    # Nothing was held, so nothing is confirmed released.
    assert outbox_events(InventoryReleasedEvent, order.order_number) == []


def test_order_failed_after_order_placed_releases_and_confirms_it(held):
    sku, order = held

    released = services.cancel_reservation(order=order_failed(order))

    assert released.status == ReservationStatus.RELEASED
    assert (stock_of(sku).available, stock_of(sku).reserved) == (10, 0)
    [confirmation] = outbox_events(InventoryReleasedEvent, order.order_number)
    assert (confirmation.sku_code, confirmation.released_quantity) == (sku, 4)
    assert confirmation.reason == "inventory did not answer within 300 s (saga deadline)"


def test_order_failed_for_an_order_that_could_not_be_served_changes_nothing():
    order = order_placed(new_sku(), 4)  # unknown SKU
    services.reserve_stock(order=order)

    assert services.cancel_reservation(order=order_failed(order)) is None
    assert Reservation.objects.get(order_number=order.order_number).status == "REJECTED"


def test_order_failed_twice_cancels_once(held):
    sku, order = held

    services.cancel_reservation(order=order_failed(order))
    assert services.cancel_reservation(order=order_failed(order)) is None

    assert len(outbox_events(InventoryReleasedEvent, order.order_number)) == 1
    assert (stock_of(sku).available, stock_of(sku).reserved) == (10, 0)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("attempt", range(5))
def test_order_failed_and_order_placed_at_once_never_leave_stock_held(attempt):
    sku = new_sku()
    services.add_stock(sku_code=sku, quantity=10)
    order = order_placed(sku, 4)

    results = run_at_once(
        lambda: services.reserve_stock(order=order),
        lambda: services.cancel_reservation(order=order_failed(order)),
    )
    # A loser that hit the unique key rolled back; the worker retries it, as here.
    if isinstance(results[0], Exception):
        services.reserve_stock(order=order)
    if isinstance(results[1], Exception):
        services.cancel_reservation(order=order_failed(order))

    reservation = Reservation.objects.get(order_number=order.order_number)
    assert reservation.status in (ReservationStatus.CANCELLED, ReservationStatus.RELEASED)
    stock = stock_of(sku)
    assert (stock.available, stock.reserved) == (10, 0)
    assert_accounted_for(stock)
