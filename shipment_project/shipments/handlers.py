"""The shipment service's saga handler: ship on OrderPaid."""

from saga_events import OrderPaidEvent
from saga_runtime.errors import InvalidEvent

from . import services
from .models import MAX_QUANTITY


def handle_order_paid(event: OrderPaidEvent) -> None:
    # A quantity is optional (a JVM producer sends none) but, when sent, a parcel's size.
    if event.quantity is not None and not 1 <= event.quantity <= MAX_QUANTITY:
        raise InvalidEvent(f"quantity {event.quantity} is not between 1 and {MAX_QUANTITY}")
    services.ship_order(order=event)


HANDLERS = {OrderPaidEvent: handle_order_paid}
