"""Drive one order down each path of the saga through the public APIs and show how each ended.

Run by ``tools/system.sh`` once the four services are up; ``tools/system.sh demo`` runs it again.
"""

import os
import sys
import uuid
from functools import partial

from saga_client import (
    Services,
    add_stock,
    get_order,
    payments_of,
    place_order,
    poll,
    stock_of,
    tokens_file,
    wait_terminal,
)

# Zipkin's UI, where the services send their spans (tools/system.sh sets ZIPKIN_ENDPOINT).
ZIPKIN = (
    os.environ.get("ZIPKIN_ENDPOINT", "http://localhost:9411/api/v2/spans").removesuffix(
        "/api/v2/spans"
    )
    + "/zipkin"
)

PATHS = [
    # (what it shows, price, quantity, expected terminal status)
    ("happy path", "49.99", 2, "SHIPPED"),
    ("out of stock", "49.99", 1000, "FAILED"),
    (
        "payment declined (amount over PAYMENT_DECLINE_ABOVE=5000.00)",
        "6000.00",
        1,
        "PAYMENT_FAILED",
    ),
    (
        "carrier rejects (quantity over SHIPMENT_MAX_PARCEL_QUANTITY=50)",
        "1.00",
        60,
        "SHIPMENT_FAILED",
    ),
]


def refunded(services: Services, order_id: int) -> dict | None:
    order = get_order(services, order_id)
    return (
        order if any(h["eventType"] == "PaymentRefundedEvent" for h in order["history"]) else None
    )


def stop_command() -> str:
    """How to stop this system: a named one shares the infrastructure with others, so only its
    own processes."""
    if name := os.environ.get("SAGA_SYSTEM_NAME"):
        return f"SAGA_SYSTEM_NAME={name} bash tools/system.sh stop   (down: the infrastructure too)"
    return "bash tools/system.sh down"


def main() -> int:
    services = Services.local()
    sku = f"DEMO-{uuid.uuid4().hex[:6].upper()}"
    stock = add_stock(services, sku, 100)
    print(f"\nStock added: {stock['skuCode']} × {stock['quantity']}\n")
    placed = [
        (label, expected, place_order(services, sku, price, quantity))
        for label, price, quantity, expected in PATHS
    ]
    ok = True
    for label, expected, order in placed:
        final = wait_terminal(services, order["id"])
        if final["status"] == "SHIPMENT_FAILED":
            # The refund is noted after the order has ended, when PaymentRefunded arrives.
            final = poll(partial(refunded, services, order["id"]), message="the refund")
        ok &= final["status"] == expected
        mark = "ok" if final["status"] == expected else f"EXPECTED {expected}"
        print(f"Order {final['id']} — {label}: {final['status']} [{mark}]")
        if final["failureReason"]:
            print(f"    reason: {final['failureReason']}")
        for line in final["history"]:
            arrow = f"{line['fromStatus'] or '∅':>15} → {line['toStatus']:<15}"
            note = (
                f"  ({line['reason']})"
                if line["reason"] and line["fromStatus"] == line["toStatus"]
                else ""
            )
            print(f"    {line['occurredAt'][11:23]}  {arrow} {line['eventType']}{note}")
        print(f"    trace: {ZIPKIN}/?annotationQuery=orderNumber%3D{final['orderNumber']}")
        for payment in payments_of(services, final["id"]):
            print(f"    payment: {payment['amount']} {payment['status']}")
    stock = stock_of(services, sku)
    print(
        f"\nStock of {sku} now: {stock['quantity']} available, {stock['reserved']} reserved, "
        f"{stock['shipped']} shipped (of {stock['totalAdded']} added)"
    )
    order, inventory = services.order, services.inventory
    payment, shipment = services.payment, services.shipment
    print(
        f"\nBrowsable API:  {order}/api/orders   {inventory}/api/inventories\n"
        f"                {payment}/api/payments {shipment}/api/shipments\n"
        f"Admin:          {order}/admin/ (and the other three), user admin, password admin\n"
        "API users:      admin/admin (staff), demo/demo (places orders); or with a token:\n"
        f"                curl -H 'Authorization: Token {services.token}' {order}/api/orders\n"
        f"                (tokens: {tokens_file()}; API docs: {order}/api/docs/)\n"
        f"Zipkin:         {ZIPKIN}/\n"
        f"Stop with:      {stop_command()}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
