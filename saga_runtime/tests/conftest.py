import uuid
from decimal import Decimal

import pytest

from saga_events import OrderPlacedEvent, PaymentFailedEvent
from saga_runtime.worker import Outcome


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


@pytest.fixture
def outcomes_of(saga_worker):
    """Consume with the session's worker until ``count`` records of ``key`` were applied;
    return their outcomes in order."""
    from saga_runtime.testing import wait_for

    def consume(key: uuid.UUID, count: int, timeout: float = 30) -> list[Outcome]:
        seen: list[Outcome] = []

        def step() -> bool:
            message = saga_worker.consumer.poll(0.2)
            if message is None or message.error():
                return False
            outcome = saga_worker.process(message)
            saga_worker.consumer.commit(message=message, asynchronous=False)
            if message.key() == str(key).encode():
                seen.append(outcome)
            return len(seen) >= count

        wait_for(step, timeout=timeout, message=f"{count} records of {key}")
        return seen

    return consume
