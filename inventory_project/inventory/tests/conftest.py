import itertools
import uuid
from decimal import Decimal

import pytest

from inventory import services
from inventory.models import Stock
from saga_events import OrderPlacedEvent

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


@pytest.fixture
def held():
    """A SKU with 10 units of which an order holds 4: (sku, order)."""
    sku = new_sku()
    services.add_stock(sku_code=sku, quantity=10)
    order = order_placed(sku, 4)
    services.reserve_stock(order=order)
    return sku, order
