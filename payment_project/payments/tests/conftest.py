import itertools
import uuid
from decimal import Decimal

import pytest

from saga_events import Event, OrderConfirmedEvent, OrderShipmentFailedEvent

_order_ids = itertools.count(1)


@pytest.fixture(autouse=True)
def decisions(settings):
    """The documented defaults, whatever the environment sets for a demo."""
    settings.PAYMENT_DECLINE_ABOVE = Decimal("5000.00")
    settings.PAYMENT_SUCCESS_RATE = 1.0
    return settings


def order_confirmed(price: str, quantity: int, **fields) -> OrderConfirmedEvent:
    values = {
        "order_id": next(_order_ids),
        "order_number": uuid.uuid4(),
        "price": Decimal(price),
        "quantity": quantity,
    }
    return OrderConfirmedEvent.new(**(values | fields))


def order_shipment_failed(order: Event, reason: str = "parcel too large") -> Event:
    return OrderShipmentFailedEvent.new(
        order_id=order.order_id, order_number=order.order_number, reason=reason
    )
