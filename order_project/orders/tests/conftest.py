"""Helpers shared by the order service's tests: orders in a given state, incoming events, and
delivery of an event through the real broker to the session's worker."""

from decimal import Decimal

import pytest
from confluent_kafka import TopicPartition
from prometheus_client import REGISTRY

from orders import services
from orders.handlers import HANDLERS
from orders.models import Order, OrderStatus
from saga_events import (
    Event,
    InventoryFailedEvent,
    InventoryReleasedEvent,
    InventoryReservedEvent,
    PaymentFailedEvent,
    PaymentRefundedEvent,
    PaymentSucceededEvent,
    ShipmentFailedEvent,
    ShipmentShippedEvent,
)
from saga_events.codec import encode
from saga_runtime.testing import run_worker_until

#: The events that move an order out of PENDING, in saga order, for each status it can reach.
PATH_TO = {
    OrderStatus.PENDING: [],
    OrderStatus.CONFIRMED: [InventoryReservedEvent],
    OrderStatus.FAILED: [InventoryFailedEvent],
    OrderStatus.PAID: [InventoryReservedEvent, PaymentSucceededEvent],
    OrderStatus.PAYMENT_FAILED: [InventoryReservedEvent, PaymentFailedEvent],
    OrderStatus.SHIPPED: [InventoryReservedEvent, PaymentSucceededEvent, ShipmentShippedEvent],
    OrderStatus.SHIPMENT_FAILED: [
        InventoryReservedEvent,
        PaymentSucceededEvent,
        ShipmentFailedEvent,
    ],
}


def incoming(event_class: type[Event], order: Order, **fields) -> Event:
    """A new event about ``order`` as the service that produces ``event_class`` would send it."""
    defaults = {
        InventoryReservedEvent: {"sku_code": order.sku_code, "reserved_quantity": order.quantity},
        InventoryFailedEvent: {
            "sku_code": order.sku_code,
            "requested_quantity": order.quantity,
            "reason": "insufficient stock",
        },
        PaymentSucceededEvent: {"amount": order.amount},
        PaymentFailedEvent: {"amount": order.amount, "reason": "amount above limit"},
        ShipmentShippedEvent: {},
        ShipmentFailedEvent: {"reason": "parcel too large"},
        PaymentRefundedEvent: {"amount": order.amount, "reason": "shipment failed"},
        InventoryReleasedEvent: {
            "sku_code": order.sku_code,
            "released_quantity": order.quantity,
            "reason": "payment declined",
        },
    }[event_class]
    return event_class.new(
        order_id=order.id, order_number=order.order_number, **(defaults | fields)
    )


@pytest.fixture
def place_order(api_user):
    """Place an order of ``api_user`` through the service (order, history line and outbox
    row)."""

    def place(sku_code: str = "SKU-1", price: str = "49.99", quantity: int = 2) -> Order:
        return services.place_order(
            sku_code=sku_code, price=Decimal(price), quantity=quantity, owner=api_user
        )

    return place


@pytest.fixture
def order_in(place_order):
    """A placed order moved to ``status`` by the events of the saga (applied by its handlers)."""

    def make(status: str, **fields) -> Order:
        order = place_order(**fields)
        for event_class in PATH_TO[status]:
            HANDLERS[event_class](incoming(event_class, order))
        order.refresh_from_db()
        assert order.status == status
        return order

    return make


@pytest.fixture
def deliver(kafka, saga_worker):
    """Send ``event`` to its topic and let the worker consume until it has committed the record.

    Waiting for the committed offset (rather than for an effect) works as well for events the
    worker must ignore, and proves it went on past them.
    """

    def send_and_consume(event: Event) -> None:
        record = _send(kafka, event)
        run_worker_until(
            saga_worker,
            lambda: _committed(saga_worker, record) > record.offset,
            message=f"{event.event_type} {event.event_id} consumed and committed",
        )

    return send_and_consume


def _send(kafka, event: Event) -> TopicPartition:
    delivered = []
    kafka.producer.produce(
        kafka.config.topic(type(event)),
        key=str(event.order_number).encode(),
        value=encode(event),
        headers=[("eventType", event.event_type), ("content-type", "application/json")],
        on_delivery=lambda error, message: delivered.append((error, message)),
    )
    kafka.producer.flush(30)
    [(error, message)] = delivered
    assert error is None, error
    return TopicPartition(message.topic(), message.partition(), message.offset())


def _committed(saga_worker, record: TopicPartition) -> int:
    [committed] = saga_worker.consumer.committed(
        [TopicPartition(record.topic, record.partition)], timeout=10
    )
    return committed.offset


def sample(name: str, **labels) -> float:
    """The current value of a Prometheus sample of this process (0 before its first use)."""
    return REGISTRY.get_sample_value(name, labels) or 0.0


#: What an error body must never show: exception class names, tracebacks, source locations.


@pytest.fixture
def client(api_client):
    """A customer: the tests place and read orders as one (test_permissions.py: the others)."""
    return api_client
