"""Saga events shared by the order, inventory, payment and shipment services.

Stdlib only: importing this package never imports Django or any other third-party library.
"""

from saga_events.base import Event
from saga_events.contracts import (
    ALL_EVENTS,
    InventoryFailedEvent,
    InventoryReleasedEvent,
    InventoryReservedEvent,
    OrderConfirmedEvent,
    OrderFailedEvent,
    OrderPaidEvent,
    OrderPlacedEvent,
    OrderShipmentFailedEvent,
    PaymentFailedEvent,
    PaymentRefundedEvent,
    PaymentSucceededEvent,
    ShipmentFailedEvent,
    ShipmentShippedEvent,
)

__all__ = [
    "ALL_EVENTS",
    "Event",
    "InventoryFailedEvent",
    "InventoryReleasedEvent",
    "InventoryReservedEvent",
    "OrderConfirmedEvent",
    "OrderFailedEvent",
    "OrderPaidEvent",
    "OrderPlacedEvent",
    "OrderShipmentFailedEvent",
    "PaymentFailedEvent",
    "PaymentRefundedEvent",
    "PaymentSucceededEvent",
    "ShipmentFailedEvent",
    "ShipmentShippedEvent",
]
