"""The payment service's saga handlers: charge on OrderConfirmed, refund on
OrderShipmentFailed."""

from saga_events import OrderConfirmedEvent, OrderShipmentFailedEvent

from . import services


def handle_order_confirmed(event: OrderConfirmedEvent) -> None:
    services.charge_payment(order=event)


def handle_order_shipment_failed(event: OrderShipmentFailedEvent) -> None:
    services.refund_payment(order_number=event.order_number, reason=event.reason)


HANDLERS = {
    OrderConfirmedEvent: handle_order_confirmed,
    OrderShipmentFailedEvent: handle_order_shipment_failed,
}
