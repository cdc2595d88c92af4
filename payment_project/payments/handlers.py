"""The payment service's saga handlers: charge on OrderConfirmed, refund on
OrderShipmentFailed."""

from saga_events import OrderConfirmedEvent, OrderShipmentFailedEvent
from saga_runtime.errors import InvalidEvent

from . import services
from .models import CENT, MAX_AMOUNT


def handle_order_confirmed(event: OrderConfirmedEvent) -> None:
    if event.quantity < 1 or event.price < CENT or event.price * event.quantity > MAX_AMOUNT:
        raise InvalidEvent(
            f"{event.quantity} × {event.price} is not a chargeable amount (0.01 to {MAX_AMOUNT})"
        )
    services.charge_payment(order=event)


def handle_order_shipment_failed(event: OrderShipmentFailedEvent) -> None:
    services.refund_payment(order_number=event.order_number, reason=event.reason)


HANDLERS = {
    OrderConfirmedEvent: handle_order_confirmed,
    OrderShipmentFailedEvent: handle_order_shipment_failed,
}
