"""The saga across four real services, checked only through their HTTP APIs."""

import uuid
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

from saga_client import (
    Services,
    add_stock,
    payments_of,
    place_order,
    poll,
    shipments_of,
    stock_of,
    wait_terminal,
)


def history(order: dict) -> list[tuple[str, str]]:
    return [(line["toStatus"], line["eventType"]) for line in order["history"]]


def test_happy_path_ships_the_order_and_its_stock(services, sku):
    order = wait_terminal(services, place_order(services, sku, "49.99", 2)["id"])

    assert order["status"] == "SHIPPED"
    assert history(order) == [
        ("PENDING", "OrderPlacedEvent"),
        ("CONFIRMED", "InventoryReservedEvent"),
        ("PAID", "PaymentSucceededEvent"),
        ("SHIPPED", "ShipmentShippedEvent"),
    ]
    [payment] = payments_of(services, order["id"])
    assert (Decimal(payment["amount"]), payment["status"]) == (Decimal("99.98"), "SUCCEEDED")
    [shipment] = shipments_of(services, order["id"])
    assert shipment["status"] == "SHIPPED" and shipment["trackingNumber"]
    level = stock_of(services, sku)
    assert (level["quantity"], level["reserved"], level["shipped"]) == (98, 0, 2)


def test_out_of_stock_fails_the_order_and_reserves_nothing(services, sku):
    order = wait_terminal(services, place_order(services, sku, "49.99", 101)["id"])

    assert order["status"] == "FAILED"
    assert order["failureReason"] == f"insufficient stock for {sku}"
    assert payments_of(services, order["id"]) == []
    level = stock_of(services, sku)
    assert (level["quantity"], level["reserved"], level["shipped"]) == (100, 0, 0)


def test_payment_declined_releases_the_stock(services, sku):
    order = wait_terminal(services, place_order(services, sku, "6000.00", 3)["id"])

    assert order["status"] == "PAYMENT_FAILED"
    [payment] = payments_of(services, order["id"])
    assert payment["status"] == "DECLINED"
    assert shipments_of(services, order["id"]) == []
    # The release happens on inventory's own consumption of PaymentFailed: poll for it.
    level = wait_for_stock(services, sku, available=100)
    assert (level["reserved"], level["shipped"]) == (0, 0)


def test_shipment_rejected_releases_the_stock_and_refunds_the_payment(services, sku):
    order = wait_terminal(services, place_order(services, sku, "1.50", 60)["id"])

    assert order["status"] == "SHIPMENT_FAILED"
    [shipment] = shipments_of(services, order["id"])
    assert shipment["status"] == "REJECTED"
    level = wait_for_stock(services, sku, available=100)
    assert (level["reserved"], level["shipped"]) == (0, 0)
    # The refund comes after SHIPMENT_FAILED, as its own event: poll for it too.
    poll(
        lambda: (
            ("SHIPMENT_FAILED", "PaymentRefundedEvent")
            in history(wait_terminal(services, order["id"]))
        ),
        message="the refund in the order's history",
    )
    [payment] = payments_of(services, order["id"])
    assert (Decimal(payment["amount"]), payment["status"]) == (Decimal("90.00"), "REFUNDED")


def test_concurrent_orders_for_scarce_stock_reserve_exactly_what_there_is(services):
    sku = f"E2E-SCARCE-{uuid.uuid4().hex[:6]}"
    add_stock(services, sku, 10)

    with ThreadPoolExecutor(max_workers=10) as pool:
        placed = list(pool.map(lambda _: place_order(services, sku, "2.00", 1), range(30)))
        finals = list(pool.map(lambda order: wait_terminal(services, order["id"], 120), placed))

    statuses = sorted(order["status"] for order in finals)
    assert statuses.count("SHIPPED") == 10
    assert statuses.count("FAILED") == 20
    # Inventory makes a reservation final on its own ShipmentShipped, after the order's.
    level = poll(
        lambda: (level := stock_of(services, sku))["shipped"] == 10 and level,
        message=f"{sku}'s shipped stock",
    )
    assert (level["quantity"], level["reserved"]) == (0, 0)


def wait_for_stock(services: Services, sku: str, *, available: int) -> dict:
    def released() -> dict | None:
        level = stock_of(services, sku)
        return level if level["quantity"] == available else None

    return poll(released, message=f"{sku} back to {available}")
