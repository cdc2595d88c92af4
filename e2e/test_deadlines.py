"""Saga deadlines across the real services (ADR 0011): a peer's worker is stopped past the
order's deadline (SAGA_DEADLINE_SECONDS=12 here), then started again and given the events it
missed, in whichever order it gets them. No stock and no money may stay taken."""

from decimal import Decimal

from saga_client import (
    Services,
    get_order,
    payments_of,
    place_order,
    poll,
    stock_of,
    wait_terminal,
)

#: Deadline (12 s) + one sweep (5 s) + the saga's own hops, with room for a loaded machine.
ENDS_WITHIN = 60


def stock(services: Services, sku: str) -> tuple[int, int, int]:
    level = stock_of(services, sku)
    return level["quantity"], level["reserved"], level["shipped"]


def handled_both(system, service: str, *topics: str) -> bool:
    return all(system.services[service].records_handled(topic) >= 1 for topic in topics)


def history(order: dict) -> list[tuple[str, str]]:
    return [(line["toStatus"], line["eventType"]) for line in order["history"]]


def test_an_order_inventory_never_answers_fails_at_its_deadline_and_holds_no_stock(
    system, services, sku
):
    with system.stopped_worker("inventory"):
        placed = place_order(services, sku, "10.00", 3)
        order = wait_terminal(services, placed["id"], timeout=ENDS_WITHIN)

        assert order["status"] == "FAILED"
        assert order["failureReason"] == "inventory did not answer within 12 s (saga deadline)"
        assert history(order)[-1] == ("FAILED", "SagaDeadline")

    # Restarted, inventory gets OrderPlaced and OrderFailed, in either order: it reserves and
    # releases, or records the order cancelled and never reserves.
    poll(
        lambda: handled_both(system, "inventory", "order-placed-topic", "order-failed-topic"),
        timeout=ENDS_WITHIN,
        message="inventory to apply the OrderPlaced and OrderFailed it missed",
    )
    assert stock(services, sku) == (100, 0, 0)
    assert wait_terminal(services, placed["id"])["status"] == "FAILED"


def test_an_order_payment_never_answers_ends_payment_failed_releases_and_is_never_charged(
    system, services, sku
):
    with system.stopped_worker("payment"):
        placed = place_order(services, sku, "10.00", 3)
        order = wait_terminal(services, placed["id"], timeout=ENDS_WITHIN)

        assert order["status"] == "PAYMENT_FAILED"
        assert order["failureReason"] == "payment did not answer within 12 s (saga deadline)"
        # Inventory runs: it releases on the OrderFailed and confirms it.
        done = poll(
            lambda: (o := get_order(services, placed["id"]))["compensation"] == "DONE" and o,
            timeout=ENDS_WITHIN,
            message="the release to be confirmed",
        )
        assert ("PAYMENT_FAILED", "InventoryReleasedEvent") in history(done)
        assert stock(services, sku) == (100, 0, 0)

    # Restarted, payment gets OrderConfirmed and OrderFailed, in either order: it charges and
    # refunds, or records the order cancelled and never charges.
    poll(
        lambda: handled_both(system, "payment", "order-confirmed-topic", "order-failed-topic"),
        timeout=ENDS_WITHIN,
        message="payment to apply the OrderConfirmed and OrderFailed it missed",
    )
    [payment] = payments_of(services, placed["id"])
    assert payment["status"] in ("CANCELLED", "REFUNDED")
    if payment["status"] == "REFUNDED":
        assert Decimal(payment["amount"]) == Decimal("30.00")
        poll(
            lambda: (
                ("PAYMENT_FAILED", "PaymentRefundedEvent")
                in history(get_order(services, placed["id"]))
            ),
            timeout=ENDS_WITHIN,
            message="the refund in the order's history",
        )
    assert get_order(services, placed["id"])["status"] == "PAYMENT_FAILED"
