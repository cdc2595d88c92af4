"""The order service's saga handlers: which event moves an order how; and the deadline sweep
its worker runs between them."""

from saga_events import (
    InventoryFailedEvent,
    InventoryReleasedEvent,
    InventoryReservedEvent,
    PaymentFailedEvent,
    PaymentRefundedEvent,
    PaymentSucceededEvent,
    ShipmentFailedEvent,
    ShipmentShippedEvent,
)

from . import services


def handle_inventory_reserved(event: InventoryReservedEvent) -> None:
    services.confirm_order(order_number=event.order_number, cause=event)


def handle_inventory_failed(event: InventoryFailedEvent) -> None:
    services.fail_order(order_number=event.order_number, reason=event.reason, cause=event)


def handle_payment_succeeded(event: PaymentSucceededEvent) -> None:
    services.mark_order_paid(order_number=event.order_number, cause=event)


def handle_payment_failed(event: PaymentFailedEvent) -> None:
    services.mark_payment_failed(order_number=event.order_number, reason=event.reason, cause=event)


def handle_shipment_shipped(event: ShipmentShippedEvent) -> None:
    services.mark_order_shipped(order_number=event.order_number, cause=event)


def handle_shipment_failed(event: ShipmentFailedEvent) -> None:
    services.mark_shipment_failed(order_number=event.order_number, reason=event.reason, cause=event)


def handle_payment_refunded(event: PaymentRefundedEvent) -> None:
    services.record_refund(
        order_number=event.order_number, amount=event.amount, reason=event.reason, cause=event
    )


def handle_inventory_released(event: InventoryReleasedEvent) -> None:
    services.record_release(
        order_number=event.order_number,
        quantity=event.released_quantity,
        reason=event.reason,
        cause=event,
    )


HANDLERS = {
    InventoryReservedEvent: handle_inventory_reserved,
    InventoryFailedEvent: handle_inventory_failed,
    PaymentSucceededEvent: handle_payment_succeeded,
    PaymentFailedEvent: handle_payment_failed,
    ShipmentShippedEvent: handle_shipment_shipped,
    ShipmentFailedEvent: handle_shipment_failed,
    PaymentRefundedEvent: handle_payment_refunded,
    InventoryReleasedEvent: handle_inventory_released,
}

#: Run by the order worker (seconds between runs): a deadline is enforced at most 5 s late,
#: and Idempotency-Keys past their retention are deleted every hour.
PERIODIC_TASKS = {
    services.expire_overdue_sagas: 5.0,
    services.forget_expired_idempotency_keys: 3600.0,
}
