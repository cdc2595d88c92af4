"""The one JSON codec of the saga: events to UTF-8 JSON bytes and back.

Encoding writes the contract's camelCase keys in field order (common fields first). Money is a JSON
number with exactly two decimal places, written from the Decimal's text; timestamps are UTC with
microseconds and a trailing ``Z``; UUIDs are lowercase strings.

Decoding is strict about the fields an event has and lenient about the ones it does not know:

* every field without a default is required; its JSON type must match (no coercion of strings
  into numbers or numbers into strings);
* integers must be JSON integer literals: booleans, ``2.5`` and also ``2.0`` are rejected (stricter
  than JSON Schema's ``integer``; every producer of the saga writes integers as literals);
* money accepts JSON numbers only, not numeric strings (the contract says number), parsed as
  Decimal and never through float, and exact in cents: ``49.9`` decodes to ``49.90``, ``49.990``
  to ``49.99``, while ``49.999`` is rejected;
* ``occurredAt`` must be ISO-8601 with an offset (``Z``, ``+00:00`` or any other), converted to UTC;
  digits beyond microseconds (a JVM Instant may send nanoseconds) are truncated;
* UUIDs must be in the canonical 8-4-4-4-12 form;
* an optional field (``X | None = None``) may be missing or null; it is not written while None;
* unknown fields are ignored, so producers may add fields; duplicate keys are rejected, since
  parsers disagree about which one wins.

Every failure raises EventDecodeError, naming the field where there is one.
"""

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from typing import Any, TypeVar
from uuid import UUID

from saga_events.base import Event, FieldSpec, event_fields, to_money

E = TypeVar("E", bound=Event)


class EventDecodeError(ValueError):
    """A record that is not a valid event of the expected class. ``field`` is its JSON key."""

    def __init__(self, field: str | None, problem: str) -> None:
        super().__init__(problem if field is None else f"{field}: {problem}")
        self.field = field
        self.problem = problem


def _json_string(value: str) -> str:
    # ASCII escapes keep the output valid UTF-8 whatever the string holds (even lone surrogates).
    return json.dumps(value)


def _encode_timestamp(value: datetime) -> str:
    utc = value.astimezone(UTC).replace(tzinfo=None)
    return _json_string(utc.isoformat(timespec="microseconds") + "Z")


_ENCODERS: dict[type, Callable[[Any], str]] = {
    # A UUID's text is hex digits and dashes: nothing to escape.
    UUID: lambda value: f'"{value}"',
    int: str,
    # Fixed-point text of a Decimal already quantized to cents: "49.99", "100.00", never "1E+2".
    Decimal: lambda value: format(value, "f"),
    str: _json_string,
    datetime: _encode_timestamp,
}


#: Each key once written as JSON (a call to ``json.dumps`` per key was half of ``encode``).
_json_key = cache(_json_string)


def encode(event: Event) -> bytes:
    """The event as a compact UTF-8 JSON object with the contract's keys, in field order."""
    members = [
        f"{_json_key(spec.wire_name)}:{_ENCODERS[spec.type](value)}"
        for spec in event_fields(type(event))
        if (value := getattr(event, spec.name)) is not None
    ]
    return ("{" + ",".join(members) + "}").encode("utf-8")


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | Decimal):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _expected(kind: str, value: object) -> ValueError:
    return ValueError(f"expected {kind}, got {_json_type(value)}")


def _decode_string(value: object) -> str:
    if not isinstance(value, str):
        raise _expected("string", value)
    return value


def _decode_integer(value: object) -> int:
    if type(value) is not int:
        raise _expected("integer", value)
    return value


def _decode_money(value: object) -> Decimal:
    if type(value) is int:
        value = Decimal(value)
    if not isinstance(value, Decimal):
        raise _expected("number", value)
    return to_money(value)


_CANONICAL_UUID = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)


def _decode_uuid(value: object) -> UUID:
    text = _decode_string(value)
    if _CANONICAL_UUID.fullmatch(text):
        return UUID(text)
    try:
        UUID(text)
    except ValueError:
        raise ValueError(f"expected a UUID, got {text!r}") from None
    raise ValueError(f"expected a UUID in canonical form, got {text!r}")


def _decode_timestamp(value: object) -> datetime:
    text = _decode_string(value)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"expected an ISO-8601 timestamp, got {text!r}") from None
    if parsed.utcoffset() is None:
        raise ValueError(f"expected a timestamp with an offset such as Z, got {text!r}")
    return parsed.astimezone(UTC)


_DECODERS: dict[type, Callable[[object], Any]] = {
    UUID: _decode_uuid,
    int: _decode_integer,
    Decimal: _decode_money,
    str: _decode_string,
    datetime: _decode_timestamp,
}


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


def _unique_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    result: dict[str, object] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


_decoder = json.JSONDecoder(
    parse_float=Decimal, parse_constant=_reject_constant, object_pairs_hook=_unique_keys
)


def _parse(data: bytes | str) -> object:
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as error:
            raise EventDecodeError(None, f"not valid UTF-8: {error.reason}") from None
    try:
        return _decoder.decode(data)
    except ValueError as error:  # JSONDecodeError and the hooks' errors alike
        raise EventDecodeError(None, f"invalid JSON: {error}") from None


def _decode_field(spec: FieldSpec, document: dict[str, object]) -> Any:
    if spec.wire_name not in document:
        raise EventDecodeError(spec.wire_name, "required field is missing")
    if spec.nullable and document[spec.wire_name] is None:
        return None
    try:
        return _DECODERS[spec.type](document[spec.wire_name])
    except ValueError as error:
        raise EventDecodeError(spec.wire_name, str(error)) from None


def decode(event_class: type[E], data: bytes | str) -> E:
    """Parse ``data`` as an ``event_class``; raise EventDecodeError if it is not a valid one."""
    document = _parse(data)
    if not isinstance(document, dict):
        raise EventDecodeError(None, f"expected a JSON object, got {_json_type(document)}")
    values = {
        spec.name: _decode_field(spec, document)
        for spec in event_fields(event_class)
        if spec.required or spec.wire_name in document
    }
    return event_class(**values)
