import itertools
import uuid

import pytest

from saga_events import OrderPaidEvent

_order_ids = itertools.count(1)


@pytest.fixture(autouse=True)
def decisions(settings):
    """The documented defaults, whatever the environment sets for a demo."""
    settings.SHIPMENT_MAX_PARCEL_QUANTITY = 50
    settings.SHIPMENT_SUCCESS_RATE = 1.0
    return settings


def order_paid(quantity: int | None, **fields) -> OrderPaidEvent:
    values = {
        "order_id": next(_order_ids),
        "order_number": uuid.uuid4(),
        "sku_code": None if quantity is None else "SKU-1",
        "quantity": quantity,
    }
    return OrderPaidEvent.new(**(values | fields))
