"""The JSON codec: exact wire shape, exact money, strict decoding."""

import dataclasses
import json
from datetime import UTC, datetime
from decimal import Decimal
from uuid import UUID, uuid4

import pytest

from saga_events import Event, OrderPaidEvent, OrderPlacedEvent, PaymentRefundedEvent
from saga_events.codec import EventDecodeError, decode, encode


def test_round_trip(event_class, make_event) -> None:
    event = make_event(event_class)
    assert decode(event_class, encode(event)) == event
    assert decode(event_class, encode(event).decode("utf-8")) == event


def test_round_trip_of_new_events(event_class, make_event) -> None:
    template = make_event(event_class)
    fields = {
        field.name: getattr(template, field.name)
        for field in dataclasses.fields(template)
        if field.name not in {"event_id", "occurred_at"}
    }
    event = event_class.new(**fields)
    assert decode(event_class, encode(event)) == event


def test_exact_wire_format_of_order_placed() -> None:
    event = OrderPlacedEvent(
        event_id=UUID("3F2A9C1E-8B7D-4E6F-A5C4-1D2E3F4A5B6C"),
        order_id=42,
        order_number=UUID("9d8c7b6a-5f4e-4d3c-8b2a-19f8e7d6c5b4"),
        occurred_at=datetime(2026, 11, 24, 10, 15, 30, 123456, tzinfo=UTC),
        sku_code="iphone_15",
        price=Decimal("49.99"),
        quantity=2,
    )
    assert encode(event) == (
        b'{"eventId":"3f2a9c1e-8b7d-4e6f-a5c4-1d2e3f4a5b6c",'
        b'"orderId":42,'
        b'"orderNumber":"9d8c7b6a-5f4e-4d3c-8b2a-19f8e7d6c5b4",'
        b'"occurredAt":"2026-11-24T10:15:30.123456Z",'
        b'"skuCode":"iphone_15",'
        b'"price":49.99,'
        b'"quantity":2}'
    )


@pytest.mark.parametrize(
    ("price", "text"),
    [
        (Decimal(100), b'"price":100.00,'),
        (Decimal("100.00"), b'"price":100.00,'),
        (Decimal("1E+2"), b'"price":100.00,'),
        (Decimal("0.5"), b'"price":0.50,'),
        (Decimal("0.10") + Decimal("0.20"), b'"price":0.30,'),
    ],
)
def test_money_is_written_with_exactly_two_decimals(make_event, price, text) -> None:
    assert text in encode(make_event(OrderPlacedEvent, price=price))


def test_microseconds_are_always_written(make_event) -> None:
    event = make_event(OrderPlacedEvent, occurred_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    assert b'"occurredAt":"2026-01-02T03:04:05.000000Z"' in encode(event)


@pytest.mark.parametrize(
    "amount", ["0.01", "0.30", "99999999.99", "123456789012345678.91", "-0.10"]
)
def test_money_never_passes_through_float(make_event, amount: str) -> None:
    # 123456789012345678.91 has more significant digits than a double can hold.
    event = make_event(PaymentRefundedEvent, amount=Decimal(amount))
    assert f'"amount":{amount},'.encode() in encode(event)
    decoded = decode(PaymentRefundedEvent, encode(event))
    assert decoded.amount == Decimal(amount)
    assert str(decoded.amount) == amount


def test_float_arithmetic_residue_is_rejected_not_rounded(make_event) -> None:
    data = encode(make_event(OrderPlacedEvent)).replace(b"49.99", repr(0.1 + 0.2).encode())
    with pytest.raises(EventDecodeError, match="price: expected at most 2 decimal places"):
        decode(OrderPlacedEvent, data)


# A valid OrderPlacedEvent as raw JSON fragments, so tests can write any JSON, not only what
# Python's json module would produce.
VALID = {
    "eventId": '"3f2a9c1e-8b7d-4e6f-a5c4-1d2e3f4a5b6c"',
    "orderId": "42",
    "orderNumber": '"9d8c7b6a-5f4e-4d3c-8b2a-19f8e7d6c5b4"',
    "occurredAt": '"2026-11-24T10:15:30.123456Z"',
    "skuCode": '"iphone_15"',
    "price": "49.99",
    "quantity": "2",
}
MISSING = object()


def document(**changes: object) -> str:
    fields = VALID | changes
    return "{" + ",".join(f'"{k}":{v}' for k, v in fields.items() if v is not MISSING) + "}"


def test_the_valid_document_decodes() -> None:
    event = decode(OrderPlacedEvent, document())
    assert (event.order_id, event.sku_code, event.price, event.quantity) == (
        42,
        "iphone_15",
        Decimal("49.99"),
        2,
    )


@pytest.mark.parametrize(
    ("field", "raw", "problem"),
    [
        ("quantity", MISSING, "required field is missing"),
        ("eventId", MISSING, "required field is missing"),
        ("quantity", '"2"', "expected integer, got string"),
        ("quantity", "true", "expected integer, got boolean"),
        ("orderId", "false", "expected integer, got boolean"),
        ("quantity", "2.5", "expected integer, got number"),
        ("quantity", "2.0", "expected integer, got number"),
        ("quantity", "null", "expected integer, got null"),
        ("skuCode", "15", "expected string, got number"),
        ("skuCode", '["a"]', "expected string, got array"),
        ("price", '"49.99"', "expected number, got string"),
        ("price", "true", "expected number, got boolean"),
        ("price", "49.999", "expected at most 2 decimal places, got 49.999"),
        ("price", "1e400", "amount out of range"),
        ("orderNumber", '"not-a-uuid"', "expected a UUID, got 'not-a-uuid'"),
        ("orderNumber", "7", "expected string, got number"),
        (
            "eventId",
            '"{3f2a9c1e-8b7d-4e6f-a5c4-1d2e3f4a5b6c}"',
            "expected a UUID in canonical form",
        ),
        ("occurredAt", '"2026-11-24T10:15:30.123456"', "expected a timestamp with an offset"),
        ("occurredAt", '"yesterday"', "expected an ISO-8601 timestamp"),
        ("occurredAt", "1764000000", "expected string, got number"),
    ],
)
def test_invalid_fields_are_rejected_by_name(field: str, raw: object, problem: str) -> None:
    with pytest.raises(EventDecodeError) as caught:
        decode(OrderPlacedEvent, document(**{field: raw}))
    assert caught.value.field == field
    assert str(caught.value) == f"{field}: {caught.value.problem}"
    assert problem in caught.value.problem


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"[1, 2]", "expected a JSON object, got array"),
        (b'"OrderPlacedEvent"', "expected a JSON object, got string"),
        (b"null", "expected a JSON object, got null"),
        (b'{"skuCode": "caf\xe9"}', "not valid UTF-8"),
        (b"{", "invalid JSON"),
        (b"", "invalid JSON"),
        (document(price="NaN").encode(), "invalid JSON: NaN is not valid JSON"),
        (document(quantity="Infinity").encode(), "invalid JSON: Infinity is not valid JSON"),
        (document()[:-1].encode() + b',"price":0.01}', "duplicate key 'price'"),
        (b"\xef\xbb\xbf" + document().encode(), "invalid JSON"),
    ],
)
def test_records_that_are_not_json_objects_are_rejected(data: bytes, problem: str) -> None:
    with pytest.raises(EventDecodeError) as caught:
        decode(OrderPlacedEvent, data)
    assert caught.value.field is None
    assert problem in str(caught.value)


def test_decode_errors_are_value_errors() -> None:
    assert issubclass(EventDecodeError, ValueError)


def test_unknown_fields_are_ignored() -> None:
    extended = document(couponCode='"WINTER"', metadata='{"source": ["web", 1, null]}')
    assert decode(OrderPlacedEvent, extended) == decode(OrderPlacedEvent, document())


@pytest.mark.parametrize(
    ("raw", "money"),
    [("49.9", "49.90"), ("49.990", "49.99"), ("100", "100.00"), ("1E+2", "100.00")],
)
def test_money_numbers_exact_in_cents_are_accepted(raw: str, money: str) -> None:
    assert str(decode(OrderPlacedEvent, document(price=raw)).price) == money


@pytest.mark.parametrize(
    "raw",
    [
        '"2026-11-24T10:15:30.123456Z"',
        '"2026-11-24T10:15:30.123456+00:00"',
        '"2026-11-24T11:15:30.123456+01:00"',
        '"2026-11-24T10:15:30.123456789Z"',  # a JVM Instant with nanoseconds
    ],
)
def test_timestamps_with_any_offset_are_converted_to_utc(raw: str) -> None:
    occurred_at = decode(OrderPlacedEvent, document(occurredAt=raw)).occurred_at
    assert occurred_at == datetime(2026, 11, 24, 10, 15, 30, 123456, tzinfo=UTC)
    assert occurred_at.tzinfo is UTC


def test_uppercase_uuids_are_accepted_and_written_lowercase() -> None:
    event = decode(OrderPlacedEvent, document(eventId='"3F2A9C1E-8B7D-4E6F-A5C4-1D2E3F4A5B6C"'))
    assert json.loads(encode(event))["eventId"] == "3f2a9c1e-8b7d-4e6f-a5c4-1d2e3f4a5b6c"


def test_non_ascii_text_round_trips(make_event) -> None:
    event = make_event(OrderPlacedEvent, sku_code="café-☕")
    data = encode(event)
    data.decode("ascii")  # escaped, so the bytes are valid UTF-8 whatever the text holds
    assert decode(OrderPlacedEvent, data) == event


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class NoteAddedEvent(Event):
    """How an event evolves compatibly: a new field gets a default and so stays optional."""

    note: str = ""


def test_optional_fields_may_be_absent() -> None:
    common = {key: VALID[key] for key in ("eventId", "orderId", "orderNumber", "occurredAt")}
    without = "{" + ",".join(f'"{k}":{v}' for k, v in common.items()) + "}"
    assert decode(NoteAddedEvent, without).note == ""
    with_note = without[:-1] + ',"note":"gift wrap"}'
    assert decode(NoteAddedEvent, with_note).note == "gift wrap"
    with pytest.raises(EventDecodeError, match="note: expected string, got number"):
        decode(NoteAddedEvent, without[:-1] + ',"note":1}')


def test_optional_field_is_left_out_while_none_and_read_back_as_none() -> None:
    event = OrderPaidEvent.new(order_id=1, order_number=uuid4())
    document = json.loads(encode(event))
    assert "skuCode" not in document and "quantity" not in document
    assert decode(OrderPaidEvent, encode(event)) == event
    document["quantity"] = None
    assert decode(OrderPaidEvent, json.dumps(document)).quantity is None


def test_optional_field_is_still_checked_when_present() -> None:
    event = OrderPaidEvent.new(order_id=1, order_number=uuid4(), sku_code="SKU", quantity=3)
    document = json.loads(encode(event))
    assert document["quantity"] == 3
    document["quantity"] = "3"
    with pytest.raises(EventDecodeError, match="quantity: expected integer"):
        decode(OrderPaidEvent, json.dumps(document))
