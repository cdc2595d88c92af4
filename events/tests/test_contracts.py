"""The event classes against the contract: names, fields, topics, immutability, validation."""

import dataclasses
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from uuid import UUID

import pytest

from saga_events import ALL_EVENTS, Event, OrderPlacedEvent, PaymentSucceededEvent
from saga_events.base import event_fields
from saga_events.topics import DEFAULT_TOPICS, EVENT_TYPES, dead_letter_topic

COMMON = ["eventId", "orderId", "orderNumber", "occurredAt"]

# The contract's tables, transcribed: event → (default topic, fields besides the common ones).
CONTRACT = {
    "OrderPlacedEvent": ("order-placed-topic", ["skuCode", "price", "quantity"]),
    "InventoryReservedEvent": ("inventory-reserved-topic", ["skuCode", "reservedQuantity"]),
    "InventoryFailedEvent": (
        "inventory-failed-topic",
        ["skuCode", "requestedQuantity", "reason"],
    ),
    "OrderFailedEvent": ("order-failed-topic", ["skuCode", "reservedQuantity", "reason"]),
    "OrderConfirmedEvent": ("order-confirmed-topic", ["price", "quantity"]),
    "PaymentSucceededEvent": ("payment-succeeded-topic", ["amount"]),
    "PaymentFailedEvent": ("payment-failed-topic", ["amount", "reason"]),
    "OrderPaidEvent": ("order-paid-topic", []),
    "ShipmentShippedEvent": ("shipment-shipped-topic", []),
    "ShipmentFailedEvent": ("shipment-failed-topic", ["reason"]),
    "OrderShipmentFailedEvent": ("order-shipment-failed-topic", ["reason"]),
    "PaymentRefundedEvent": ("payment-refunded-topic", ["amount", "reason"]),
    # Added by us (docs/decisions/0011): inventory confirms a release to the order.
    "InventoryReleasedEvent": (
        "inventory-released-topic",
        ["skuCode", "releasedQuantity", "reason"],
    ),
}

# Optional fields we added beyond the contract (a producer may add fields, never drop them).
ADDITIONS = {"OrderPaidEvent": ["skuCode", "quantity"]}


def test_every_contract_event_exists_once() -> None:
    assert [cls.event_type for cls in ALL_EVENTS] == list(CONTRACT)


def test_event_type_is_the_class_name_and_not_a_field(event_class: type[Event]) -> None:
    assert event_class.event_type == event_class.__name__
    assert "event_type" not in {field.name for field in dataclasses.fields(event_class)}


def test_wire_fields_match_the_contract(event_class: type[Event]) -> None:
    specs = event_fields(event_class)
    assert [spec.wire_name for spec in specs if spec.required] == (
        COMMON + CONTRACT[event_class.event_type][1]
    )
    assert [spec.wire_name for spec in specs if not spec.required] == ADDITIONS.get(
        event_class.event_type, []
    )


def test_default_topic_and_event_type_lookup(event_class: type[Event]) -> None:
    assert DEFAULT_TOPICS[event_class] == CONTRACT[event_class.event_type][0]
    assert EVENT_TYPES[event_class.event_type] is event_class


def test_topic_tables_cover_exactly_the_contract_events() -> None:
    assert set(DEFAULT_TOPICS) == set(ALL_EVENTS)
    assert len(set(DEFAULT_TOPICS.values())) == len(ALL_EVENTS)
    assert set(EVENT_TYPES) == set(CONTRACT)


def test_dead_letter_topic() -> None:
    assert dead_letter_topic("order-placed-topic") == "order-placed-topic.DLT"


def test_events_are_frozen_slotted_and_keyword_only(event_class, make_event) -> None:
    event = make_event(event_class)
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.order_id = 7  # type: ignore[misc]
    assert not hasattr(event, "__dict__")
    with pytest.raises(TypeError):
        event_class(event.event_id, 42, event.order_number, event.occurred_at)  # type: ignore[misc]
    assert hash(event) == hash(make_event(event_class))


def test_new_fills_a_fresh_id_and_the_current_utc_time(event_class, make_event) -> None:
    template = make_event(event_class)
    own_fields = {
        spec.name: getattr(template, spec.name)
        for spec in event_fields(event_class)
        if spec.name not in {"event_id", "occurred_at"}
    }
    before = datetime.now(UTC)
    first, second = event_class.new(**own_fields), event_class.new(**own_fields)
    assert first.event_id.version == 4
    assert first.event_id != second.event_id
    assert first.occurred_at.tzinfo is UTC
    assert before <= first.occurred_at <= datetime.now(UTC)
    same_ids = {"event_id": template.event_id, "occurred_at": template.occurred_at}
    assert dataclasses.replace(first, **same_ids) == template


def test_occurred_at_must_be_aware_and_is_normalised_to_utc(make_event) -> None:
    with pytest.raises(ValueError, match="occurred_at: expected an aware datetime"):
        make_event(OrderPlacedEvent, occurred_at=datetime(2026, 11, 24, 10, 15, 30))
    berlin = datetime(2026, 11, 24, 11, 15, 30, tzinfo=timezone(timedelta(hours=1)))
    event = make_event(OrderPlacedEvent, occurred_at=berlin)
    assert event.occurred_at == berlin
    assert event.occurred_at.tzinfo is UTC
    assert event.occurred_at.hour == 10


@pytest.mark.parametrize(
    ("given", "stored"),
    [("49.9", "49.90"), ("100", "100.00"), ("49.990", "49.99"), ("0.10", "0.10")],
)
def test_money_is_normalised_to_cents_when_exact(make_event, given: str, stored: str) -> None:
    event = make_event(PaymentSucceededEvent, amount=Decimal(given))
    assert str(event.amount) == stored


@pytest.mark.parametrize("given", ["49.999", "0.001", "NaN", "Infinity", "1E+40"])
def test_money_that_is_not_exact_in_cents_is_rejected(make_event, given: str) -> None:
    with pytest.raises(ValueError, match=r"^amount: "):
        make_event(PaymentSucceededEvent, amount=Decimal(given))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("amount", 49.99),
        ("amount", "49.99"),
        ("order_id", True),
        ("order_id", 42.0),
        ("order_number", str(UUID(int=1))),
        ("occurred_at", "2026-11-24T10:15:30Z"),
    ],
)
def test_field_types_are_checked_at_runtime(make_event, field: str, value: object) -> None:
    with pytest.raises(TypeError, match=f"^{field}: expected"):
        make_event(PaymentSucceededEvent, **{field: value})


def test_unsupported_field_types_are_refused() -> None:
    @dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
    class TaggedEvent(Event):
        tags: list[str]

    with pytest.raises(TypeError, match=r"TaggedEvent\.tags: unsupported type"):
        TaggedEvent.new(order_id=1, order_number=UUID(int=1), tags=["a"])
