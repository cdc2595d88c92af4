"""The shipment service's saga handler: ship on OrderPaid."""

from saga_events import OrderPaidEvent

from . import services


def handle_order_paid(event: OrderPaidEvent) -> None:
    services.ship_order(order=event)


HANDLERS = {OrderPaidEvent: handle_order_paid}
