"""Routing of records: default topic per event, ``eventType`` header values, dead-letter topics."""

from collections.abc import Mapping
from types import MappingProxyType

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

DEFAULT_TOPICS: Mapping[type[Event], str] = MappingProxyType(
    {
        OrderPlacedEvent: "order-placed-topic",
        InventoryReservedEvent: "inventory-reserved-topic",
        InventoryFailedEvent: "inventory-failed-topic",
        OrderFailedEvent: "order-failed-topic",
        OrderConfirmedEvent: "order-confirmed-topic",
        PaymentSucceededEvent: "payment-succeeded-topic",
        PaymentFailedEvent: "payment-failed-topic",
        OrderPaidEvent: "order-paid-topic",
        ShipmentShippedEvent: "shipment-shipped-topic",
        ShipmentFailedEvent: "shipment-failed-topic",
        OrderShipmentFailedEvent: "order-shipment-failed-topic",
        PaymentRefundedEvent: "payment-refunded-topic",
        InventoryReleasedEvent: "inventory-released-topic",
    }
)
"""Topic of each event; a deployment may put a prefix before every name (SAGA_TOPIC_PREFIX)."""

EVENT_TYPES: Mapping[str, type[Event]] = MappingProxyType(
    {event_class.event_type: event_class for event_class in ALL_EVENTS}
)
"""``eventType`` header value → event class."""


def dead_letter_topic(topic: str) -> str:
    """The dead-letter topic of ``topic``, where records that cannot be decoded are parked."""
    return f"{topic}.DLT"
