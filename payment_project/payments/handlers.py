"""The payment service's saga handlers: charge on OrderConfirmed, refund on
OrderShipmentFailed, refund or refuse to charge on OrderFailed."""

import logging

from saga_events import OrderConfirmedEvent, OrderFailedEvent, OrderShipmentFailedEvent
from saga_runtime.errors import InvalidEvent

from . import services
from .models import CENT, MAX_AMOUNT

logger = logging.getLogger(__name__)


def handle_order_confirmed(event: OrderConfirmedEvent) -> None:
    if event.quantity < 1 or event.price < CENT or event.price * event.quantity > MAX_AMOUNT:
        raise InvalidEvent(
            f"{event.quantity} × {event.price} is not a chargeable amount (0.01 to {MAX_AMOUNT})"
        )
    services.charge_payment(order=event)


def handle_order_shipment_failed(event: OrderShipmentFailedEvent) -> None:
    services.refund_payment(order_number=event.order_number, reason=event.reason)


def handle_order_failed(event: OrderFailedEvent) -> None:
    # Nothing reserved means the order failed before it was confirmed: it never asked for
    # payment, and never will.
    if event.reserved_quantity == 0:
        logger.info("order failed before asking for payment; nothing to do")
        return
    services.cancel_payment(order=event)


HANDLERS = {
    OrderConfirmedEvent: handle_order_confirmed,
    OrderShipmentFailedEvent: handle_order_shipment_failed,
    OrderFailedEvent: handle_order_failed,
}
