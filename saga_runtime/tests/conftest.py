import uuid
from decimal import Decimal

import pytest

from saga_events import OrderPlacedEvent, PaymentFailedEvent


@pytest.fixture
def order_placed():
    def make(**fields) -> OrderPlacedEvent:
        values = {
            "order_id": 1,
            "order_number": uuid.uuid4(),
            "sku_code": "SKU-1",
            "price": Decimal("49.99"),
            "quantity": 2,
        }
        return OrderPlacedEvent.new(**(values | fields))

    return make


@pytest.fixture
def payment_failed():
    def make(reason: str) -> PaymentFailedEvent:
        return PaymentFailedEvent.new(
            order_id=1, order_number=uuid.uuid4(), amount=Decimal("10.00"), reason=reason
        )

    return make
