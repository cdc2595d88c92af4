"""The inventory service's saga handlers: reserve on OrderPlaced, release on any failure after
it, finalize on ShipmentShipped."""

from saga_events import (
    OrderFailedEvent,
    OrderPlacedEvent,
    OrderShipmentFailedEvent,
    PaymentFailedEvent,
    ShipmentShippedEvent,
)
from saga_runtime.errors import InvalidEvent
from saga_runtime.handling import takes_list

from . import services
from .models import MAX_STOCK


@takes_list
def handle_orders_placed(events: list[OrderPlacedEvent]) -> None:
    """All the OrderPlaced of a batch that stand together, reserved in one round trip. One
    with an impossible quantity fails the list; applied alone, it is dead-lettered."""
    for event in events:
        if not 1 <= event.quantity <= MAX_STOCK:
            raise InvalidEvent(f"quantity {event.quantity} is not between 1 and {MAX_STOCK}")
    services.reserve_stock_for_orders(orders=events)


def handle_payment_failed(event: PaymentFailedEvent) -> None:
    services.release_reservation(order_number=event.order_number, reason=event.reason)


def handle_order_failed(event: OrderFailedEvent) -> None:
    services.cancel_reservation(order=event)


def handle_order_shipment_failed(event: OrderShipmentFailedEvent) -> None:
    services.release_reservation(order_number=event.order_number, reason=event.reason)


def handle_shipment_shipped(event: ShipmentShippedEvent) -> None:
    services.finalize_reservation(order_number=event.order_number)


HANDLERS = {
    OrderPlacedEvent: handle_orders_placed,
    PaymentFailedEvent: handle_payment_failed,
    OrderFailedEvent: handle_order_failed,
    OrderShipmentFailedEvent: handle_order_shipment_failed,
    ShipmentShippedEvent: handle_shipment_shipped,
}
