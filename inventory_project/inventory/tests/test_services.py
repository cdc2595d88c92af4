"""Stock and reservations against the real database: accounting, at-most-once, concurrency."""

import random
import uuid

import pytest
from django.db import IntegrityError, transaction
from django.db.models import F

from inventory import services
from inventory.models import MAX_STOCK, Reservation, ReservationStatus, Stock
from inventory.tests.conftest import (
    assert_accounted_for,
    new_sku,
    order_placed,
    stock_of,
)
from saga_events import InventoryFailedEvent, InventoryReservedEvent
from saga_runtime.models import OutboxMessage
from saga_runtime.testing import outbox_events, run_at_once

pytestmark = pytest.mark.django_db


# -- adding stock ---------------------------------------------------------------------------


def test_add_stock_creates_an_unknown_sku():
    sku = new_sku()

    stock, created = services.add_stock(sku_code=sku, quantity=7)

    assert created is True
    stock = stock_of(sku)
    assert (stock.available, stock.reserved, stock.shipped, stock.total_added) == (7, 0, 0, 7)


def test_add_stock_adds_to_an_existing_sku():
    sku = new_sku()
    services.add_stock(sku_code=sku, quantity=7)

    _, created = services.add_stock(sku_code=sku, quantity=5)

    assert created is False
    stock = stock_of(sku)
    assert (stock.available, stock.total_added) == (12, 12)
    assert Stock.objects.filter(sku_code=sku).count() == 1


def test_add_stock_up_to_the_column_limit_is_accepted():
    sku = new_sku()
    services.add_stock(sku_code=sku, quantity=MAX_STOCK - 1)

    services.add_stock(sku_code=sku, quantity=1)

    assert stock_of(sku).total_added == MAX_STOCK


def test_add_stock_beyond_the_column_limit_is_refused_and_changes_nothing():
    sku = new_sku()
    services.add_stock(sku_code=sku, quantity=MAX_STOCK - 1)

    with pytest.raises(services.StockLimitExceeded, match=sku):
        services.add_stock(sku_code=sku, quantity=2)

    assert stock_of(sku).total_added == MAX_STOCK - 1


def test_add_stock_of_more_than_a_column_holds_is_refused():
    sku = new_sku()

    with pytest.raises(services.StockLimitExceeded):
        services.add_stock(sku_code=sku, quantity=MAX_STOCK + 1)

    assert not Stock.objects.filter(sku_code=sku).exists()


# -- reserving ------------------------------------------------------------------------------


def test_reserve_stock_holds_the_quantity_and_queues_inventory_reserved():
    sku = new_sku()
    services.add_stock(sku_code=sku, quantity=10)
    order = order_placed(sku, 4)

    reservation = services.reserve_stock(order=order)

    reservation.refresh_from_db()
    assert (reservation.status, reservation.quantity, reservation.order_id) == (
        ReservationStatus.HELD,
        4,
        order.order_id,
    )
    stock = stock_of(sku)
    assert (stock.available, stock.reserved) == (6, 4)
    [reserved] = outbox_events(InventoryReservedEvent, order.order_number)
    assert (reserved.order_id, reserved.sku_code, reserved.reserved_quantity) == (
        order.order_id,
        sku,
        4,
    )
    assert not outbox_events(InventoryFailedEvent, order.order_number)


def test_reserve_stock_of_exactly_what_is_available_is_held():
    sku = new_sku()
    services.add_stock(sku_code=sku, quantity=5)

    reservation = services.reserve_stock(order=order_placed(sku, 5))

    assert reservation.status == ReservationStatus.HELD
    assert (stock_of(sku).available, stock_of(sku).reserved) == (0, 5)


def test_reserve_stock_of_an_unknown_sku_is_rejected_with_the_reason():
    sku = new_sku()
    order = order_placed(sku, 1)

    reservation = services.reserve_stock(order=order)

    assert reservation.status == ReservationStatus.REJECTED
    assert reservation.reason == f"unknown SKU {sku}"
    [failed] = outbox_events(InventoryFailedEvent, order.order_number)
    assert (failed.sku_code, failed.requested_quantity, failed.reason) == (
        sku,
        1,
        f"unknown SKU {sku}",
    )
    assert not Stock.objects.filter(sku_code=sku).exists()


@pytest.mark.parametrize(
    "sku", ["S" * 65, "SKU\x001", "SKU\ud8001"], ids=["too-long", "nul", "surrogate"]
)
def test_reserve_stock_of_a_sku_no_stock_can_have_is_rejected_as_unknown(sku):
    """A producer without our order API's validation (the seed's) may send any string."""
    # A stocked SKU the broken one could be mistaken for, if truncated or cleaned up.
    services.add_stock(sku_code=sku[:64].replace("\x00", "").replace("\ud800", ""), quantity=9)
    order = order_placed(sku, 1)

    reservation = services.reserve_stock(order=order)

    reservation.refresh_from_db()
    assert reservation.status == ReservationStatus.REJECTED
    assert reservation.reason.startswith("unknown SKU ")
    [failed] = outbox_events(InventoryFailedEvent, order.order_number)
    assert (failed.sku_code, failed.requested_quantity) == (sku, 1)
    assert failed.reason == reservation.reason
    assert sum(stock.available for stock in Stock.objects.all()) == 9


def test_reserve_stock_beyond_what_is_available_is_rejected_and_takes_nothing():
    sku = new_sku()
    services.add_stock(sku_code=sku, quantity=3)
    order = order_placed(sku, 4)

    reservation = services.reserve_stock(order=order)

    assert reservation.status == ReservationStatus.REJECTED
    assert reservation.reason == f"insufficient stock for {sku}"
    [failed] = outbox_events(InventoryFailedEvent, order.order_number)
    assert (failed.requested_quantity, failed.reason) == (4, f"insufficient stock for {sku}")
    assert not outbox_events(InventoryReservedEvent, order.order_number)
    stock = stock_of(sku)
    assert (stock.available, stock.reserved) == (3, 0)


def test_second_order_placed_for_a_held_order_reserves_nothing_more():
    sku = new_sku()
    services.add_stock(sku_code=sku, quantity=10)
    order = order_placed(sku, 4)
    services.reserve_stock(order=order)

    again = order_placed(sku, 4, order_id=order.order_id, order_number=order.order_number)
    assert services.reserve_stock(order=again) is None

    assert Reservation.objects.filter(order_number=order.order_number).count() == 1
    assert (stock_of(sku).available, stock_of(sku).reserved) == (6, 4)
    assert OutboxMessage.objects.filter(key=str(order.order_number)).count() == 1


def test_rejected_order_is_not_reserved_later_when_stock_arrives():
    sku = new_sku()
    order = order_placed(sku, 2)
    services.reserve_stock(order=order)
    services.add_stock(sku_code=sku, quantity=10)

    assert (
        services.reserve_stock(order=order_placed(sku, 2, order_number=order.order_number)) is None
    )

    reservation = Reservation.objects.get(order_number=order.order_number)
    assert reservation.status == ReservationStatus.REJECTED
    assert stock_of(sku).available == 10
    assert OutboxMessage.objects.filter(key=str(order.order_number)).count() == 1


def test_reserving_for_several_orders_gives_each_what_the_ones_before_it_left():
    sku, unknown = new_sku(), new_sku()
    services.add_stock(sku_code=sku, quantity=10)
    first, too_many, fits, elsewhere = (
        order_placed(sku, 6),
        order_placed(sku, 5),
        order_placed(sku, 4),
        order_placed(unknown, 1),
    )
    again = order_placed(sku, 1, order_number=first.order_number)
    orders = [first, too_many, again, fits, elsewhere]

    reservations = services.reserve_stock_for_orders(orders=orders)

    assert [r and (r.order_number, r.status) for r in reservations] == [
        (first.order_number, ReservationStatus.HELD),
        (too_many.order_number, ReservationStatus.REJECTED),
        None,  # the order already has its reservation
        (fits.order_number, ReservationStatus.HELD),
        (elsewhere.order_number, ReservationStatus.REJECTED),
    ]
    assert [r.reason for r in reservations if r] == [
        "",
        f"insufficient stock for {sku}",
        "",
        f"unknown SKU {unknown}",
    ]
    stock = stock_of(sku)
    assert (stock.available, stock.reserved) == (0, 10)
    assert_accounted_for(stock)
    stored = Reservation.objects.filter(order_number__in=[o.order_number for o in orders])
    assert sorted(stored.values_list("quantity", "status")) == sorted(
        [(6, "HELD"), (5, "REJECTED"), (4, "HELD"), (1, "REJECTED")]
    )
    # One event per order, written in the orders' order.
    published = (
        OutboxMessage.objects.filter(key__in=[str(o.order_number) for o in orders])
        .order_by("id")
        .values_list("key", "event_type")
    )
    assert list(published) == [
        (str(first.order_number), "InventoryReservedEvent"),
        (str(too_many.order_number), "InventoryFailedEvent"),
        (str(fits.order_number), "InventoryReservedEvent"),
        (str(elsewhere.order_number), "InventoryFailedEvent"),
    ]


def test_reserving_for_no_orders_does_nothing():
    assert services.reserve_stock_for_orders(orders=[]) == []


# -- releasing and finalizing ---------------------------------------------------------------


def test_release_gives_back_exactly_the_reserved_quantity(held):
    sku, order = held

    reservation = services.release_reservation(
        order_number=order.order_number, reason="payment declined"
    )

    assert (reservation.status, reservation.reason) == (
        ReservationStatus.RELEASED,
        "payment declined",
    )
    stock = stock_of(sku)
    assert (stock.available, stock.reserved, stock.shipped, stock.total_added) == (10, 0, 0, 10)


def test_release_twice_gives_the_stock_back_once(held):
    sku, order = held
    services.release_reservation(order_number=order.order_number, reason="first")

    assert services.release_reservation(order_number=order.order_number, reason="again") is None

    assert (stock_of(sku).available, stock_of(sku).reserved) == (10, 0)
    assert Reservation.objects.get(order_number=order.order_number).reason == "first"


@pytest.mark.parametrize("reason", ["declined\x00", "declined\ud800"], ids=["nul", "surrogate"])
def test_release_with_a_reason_postgresql_cannot_store_still_releases(held, reason):
    sku, order = held

    reservation = services.release_reservation(order_number=order.order_number, reason=reason)

    assert reservation.status == ReservationStatus.RELEASED
    assert Reservation.objects.get(order_number=order.order_number).reason == "declined\ufffd"
    assert (stock_of(sku).available, stock_of(sku).reserved) == (10, 0)


def test_release_without_a_reservation_changes_nothing_and_queues_nothing(held):
    sku, _ = held
    stranger = uuid.uuid4()

    assert services.release_reservation(order_number=stranger, reason="declined") is None

    assert not Reservation.objects.filter(order_number=stranger).exists()
    assert (stock_of(sku).available, stock_of(sku).reserved) == (6, 4)
    assert not OutboxMessage.objects.filter(key=str(stranger)).exists()


def test_release_of_a_rejected_order_changes_nothing():
    sku = new_sku()
    services.add_stock(sku_code=sku, quantity=1)
    order = order_placed(sku, 2)
    services.reserve_stock(order=order)

    assert services.release_reservation(order_number=order.order_number, reason="x") is None

    assert Reservation.objects.get(order_number=order.order_number).status == "REJECTED"
    assert (stock_of(sku).available, stock_of(sku).reserved) == (1, 0)


def test_finalize_moves_the_held_quantity_from_reserved_to_shipped(held):
    sku, order = held
    before = Reservation.objects.get(order_number=order.order_number)

    reservation = services.finalize_reservation(order_number=order.order_number)

    assert reservation.status == ReservationStatus.SHIPPED
    assert reservation == Reservation.objects.get(order_number=order.order_number)
    assert reservation.updated_at > before.updated_at
    stock = stock_of(sku)
    assert (stock.available, stock.reserved, stock.shipped, stock.total_added) == (6, 0, 4, 10)
    assert stock.updated_at > before.updated_at


def test_shipped_reservation_is_final(held):
    sku, order = held
    services.finalize_reservation(order_number=order.order_number)

    assert services.release_reservation(order_number=order.order_number, reason="late") is None
    assert services.finalize_reservation(order_number=order.order_number) is None

    assert Reservation.objects.get(order_number=order.order_number).status == "SHIPPED"
    stock = stock_of(sku)
    assert (stock.available, stock.reserved, stock.shipped) == (6, 0, 4)


def test_released_reservation_is_never_shipped(held):
    sku, order = held
    services.release_reservation(order_number=order.order_number, reason="declined")

    assert services.finalize_reservation(order_number=order.order_number) is None

    stock = stock_of(sku)
    assert (stock.available, stock.reserved, stock.shipped) == (10, 0, 0)


# -- the accounting invariant ---------------------------------------------------------------


def test_stock_is_accounted_for_after_any_sequence():
    sku = new_sku()
    services.add_stock(sku_code=sku, quantity=20)
    orders = [order_placed(sku, quantity) for quantity in (3, 5, 7, 9, 2)]
    for order in orders:
        services.reserve_stock(order=order)  # the 9 does not fit any more: rejected
    services.release_reservation(order_number=orders[0].order_number, reason="declined")
    services.finalize_reservation(order_number=orders[1].order_number)
    services.add_stock(sku_code=sku, quantity=4)
    services.release_reservation(order_number=orders[3].order_number, reason="nothing held")
    services.finalize_reservation(order_number=orders[4].order_number)

    stock = stock_of(sku)
    assert_accounted_for(stock)
    assert stock.total_added == 24
    assert (stock.available, stock.reserved, stock.shipped) == (24 - 7 - 5 - 2, 7, 5 + 2)
    statuses = [Reservation.objects.get(order_number=o.order_number).status for o in orders]
    assert statuses == ["RELEASED", "SHIPPED", "HELD", "REJECTED", "SHIPPED"]


@pytest.mark.parametrize("seed", range(5))
def test_stock_matches_a_simple_model_after_a_random_sequence(seed):
    """Random additions, reservations, repeats, releases and shipments, checked after each step
    against a model that just counts (seeded, so a failure can be replayed)."""
    rng = random.Random(seed)
    sku = new_sku()
    model = {"available": 0, "reserved": 0, "shipped": 0, "total_added": 0}
    held: dict[uuid.UUID, int] = {}
    orders = []
    for _ in range(60):
        step = rng.choice(["add", "reserve", "reserve", "repeat", "release", "ship"])
        if step == "add":
            quantity = rng.randint(0, 10)
            services.add_stock(sku_code=sku, quantity=quantity)
            model["available"] += quantity
            model["total_added"] += quantity
        elif step == "reserve" or (step == "repeat" and not orders):
            order = order_placed(sku, rng.randint(1, 8))
            orders.append(order)
            services.reserve_stock(order=order)
            if Stock.objects.filter(sku_code=sku).exists() and order.quantity <= model["available"]:
                model["available"] -= order.quantity
                model["reserved"] += order.quantity
                held[order.order_number] = order.quantity
        elif step == "repeat":
            order = rng.choice(orders)
            services.reserve_stock(order=order_placed(sku, 1, order_number=order.order_number))
        elif orders:
            # Any order, so releases and shipments of rejected, released or shipped ones (which
            # must change nothing) come up too.
            number = rng.choice(orders).order_number
            quantity = held.pop(number, 0)
            model["reserved"] -= quantity
            if step == "release":
                services.release_reservation(order_number=number, reason="declined")
                model["available"] += quantity
            else:
                services.finalize_reservation(order_number=number)
                model["shipped"] += quantity

        stock = Stock.objects.filter(sku_code=sku).first()
        counts = (
            {name: getattr(stock, name) for name in model} if stock else dict.fromkeys(model, 0)
        )
        assert counts == model, f"after {step}"
    assert Reservation.objects.filter(status=ReservationStatus.HELD).count() == len(held)


@pytest.mark.parametrize(
    "change",
    [
        {"available": -1, "total_added": F("total_added") - 11},
        {"reserved": -1, "total_added": F("total_added") - 1},
        {"shipped": -1, "total_added": F("total_added") - 1},
        {"available": F("available") + 1},
        {"total_added": F("total_added") + 1},
    ],
    ids=["available", "reserved", "shipped", "unaccounted-available", "unaccounted-total"],
)
def test_database_rejects_a_direct_update_that_breaks_the_accounting(change):
    sku = new_sku()
    services.add_stock(sku_code=sku, quantity=10)

    with pytest.raises(IntegrityError), transaction.atomic():
        Stock.objects.filter(sku_code=sku).update(**change)

    assert_accounted_for(stock_of(sku))
    assert stock_of(sku).available == 10


def test_database_rejects_a_negative_available_even_when_accounted_for():
    sku = new_sku()
    services.add_stock(sku_code=sku, quantity=10)

    with pytest.raises(IntegrityError), transaction.atomic():
        Stock.objects.filter(sku_code=sku).update(available=-1)

    assert stock_of(sku).available == 10


# -- concurrency ----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_concurrent_reservations_never_take_more_than_there_is(kafka, relay):
    sku = new_sku()
    services.add_stock(sku_code=sku, quantity=25)
    orders = [order_placed(sku, 3) for _ in range(20)]

    results = run_at_once(
        *[lambda order=order: services.reserve_stock(order=order) for order in orders]
    )

    assert not [r for r in results if isinstance(r, Exception)]
    held = Reservation.objects.filter(sku_code=sku, status=ReservationStatus.HELD)
    assert held.count() == 8
    assert sum(r.quantity for r in held) == 24
    rejected = Reservation.objects.filter(sku_code=sku, status=ReservationStatus.REJECTED)
    assert rejected.count() == 12
    stock = stock_of(sku)
    assert (stock.available, stock.reserved) == (1, 24)
    assert_accounted_for(stock)
    for order in orders:
        assert Reservation.objects.filter(order_number=order.order_number).count() == 1
        assert OutboxMessage.objects.filter(key=str(order.order_number)).count() == 1

    relay.publish_all()

    assert not OutboxMessage.objects.filter(sent_at__isnull=True).exists()
    ours = {str(order.order_number).encode() for order in orders}
    for event_class, status in [
        (InventoryReservedEvent, ReservationStatus.HELD),
        (InventoryFailedEvent, ReservationStatus.REJECTED),
    ]:
        expected = {
            str(number).encode()
            for number in Reservation.objects.filter(sku_code=sku, status=status).values_list(
                "order_number", flat=True
            )
        }
        messages = kafka.read(
            kafka.config.topic(event_class),
            until=lambda ms, expected=expected: expected <= {m.key() for m in ms},
        )
        assert sorted(m.key() for m in messages if m.key() in ours) == sorted(expected)


@pytest.mark.django_db(transaction=True)
def test_concurrent_order_placed_for_one_order_reserves_once():
    sku = new_sku()
    services.add_stock(sku_code=sku, quantity=10)
    order = order_placed(sku, 4)
    again = order_placed(sku, 4, order_id=order.order_id, order_number=order.order_number)

    results = run_at_once(
        lambda: services.reserve_stock(order=order), lambda: services.reserve_stock(order=again)
    )

    # The loser either saw the winner's row or hit the unique key and rolled back entirely
    # (the worker then retries it and finds the reservation).
    assert sum(isinstance(r, Reservation) for r in results) == 1
    assert all(r is None or isinstance(r, Reservation | IntegrityError) for r in results)
    assert Reservation.objects.filter(order_number=order.order_number).count() == 1
    assert (stock_of(sku).available, stock_of(sku).reserved) == (6, 4)
    assert OutboxMessage.objects.filter(key=str(order.order_number)).count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_releases_give_the_stock_back_once():
    sku = new_sku()
    services.add_stock(sku_code=sku, quantity=10)
    order = order_placed(sku, 4)
    services.reserve_stock(order=order)

    results = run_at_once(
        *[
            lambda: services.release_reservation(order_number=order.order_number, reason="x")
            for _ in range(2)
        ]
    )

    assert sorted(r is None for r in results) == [False, True]
    stock = stock_of(sku)
    assert (stock.available, stock.reserved) == (10, 0)
    assert_accounted_for(stock)
