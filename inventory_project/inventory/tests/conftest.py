import itertools
import uuid
from decimal import Decimal

import pytest

from inventory import services
from inventory.models import Stock
from saga_events import Event, OrderPlacedEvent
from saga_events.codec import decode
from saga_runtime.models import OutboxMessage
from saga_runtime.testing import wait_for
from saga_runtime.worker import Outcome

_order_ids = itertools.count(1)


def new_sku() -> str:
    """A SKU no other test uses: Kafka topics outlive each test's database."""
    return f"SKU-{uuid.uuid4().hex[:10]}"


def order_placed(sku_code: str, quantity: int, **fields) -> OrderPlacedEvent:
    values = {
        "order_id": next(_order_ids),
        "order_number": uuid.uuid4(),
        "sku_code": sku_code,
        "price": Decimal("19.99"),
        "quantity": quantity,
    }
    return OrderPlacedEvent.new(**(values | fields))


def stock_of(sku_code: str) -> Stock:
    return Stock.objects.get(sku_code=sku_code)


def assert_accounted_for(stock: Stock) -> None:
    stock.refresh_from_db()
    assert min(stock.available, stock.reserved, stock.shipped) >= 0
    assert stock.available + stock.reserved + stock.shipped == stock.total_added


def outbox_events(event_class: type[Event], order_number: uuid.UUID) -> list[Event]:
    """The events of ``event_class`` the service queued for one order, in order."""
    rows = OutboxMessage.objects.filter(
        event_type=event_class.__name__, key=str(order_number)
    ).order_by("id")
    return [decode(event_class, row.payload) for row in rows]


@pytest.fixture
def held():
    """A SKU with 10 units of which an order holds 4: (sku, order)."""
    sku = new_sku()
    services.add_stock(sku_code=sku, quantity=10)
    order = order_placed(sku, 4)
    services.reserve_stock(order=order)
    return sku, order


@pytest.fixture
def published(kafka):
    """Every ``event_class`` record about one order on its topic, and provably no more.

    A marker record with the order's key is sent after them; the order's records share one
    partition, so once the marker is read everything published before it has been read too.
    """

    def read(event_class: type[Event], order_number: uuid.UUID) -> list[Event]:
        topic, key = kafka.config.topic(event_class), str(order_number).encode()
        marker = f"marker {uuid.uuid4()}".encode()
        kafka.send(topic, marker, key=str(order_number))
        messages = kafka.read(topic, until=lambda ms: any(m.value() == marker for m in ms))
        return [
            decode(event_class, m.value())
            for m in messages
            if m.key() == key and m.value() != marker
        ]

    return read


@pytest.fixture
def outcomes_of(saga_worker):
    """Consume until ``count`` records keyed by ``order_number`` were applied; their outcomes."""

    def consume(order_number: uuid.UUID, count: int, timeout: float = 30) -> list[Outcome]:
        seen: list[Outcome] = []

        def step() -> bool:
            message = saga_worker.consumer.poll(0.2)
            if message is None or message.error():
                return False
            outcome = saga_worker.process(message)
            saga_worker.consumer.commit(message=message, asynchronous=False)
            if message.key() == str(order_number).encode():
                seen.append(outcome)
            return len(seen) >= count

        wait_for(step, timeout=timeout, message=f"{count} records of {order_number}")
        return seen

    return consume
