"""The base event class and the field model the codec and the schemas are derived from."""

import dataclasses
import re
import types
import typing
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar, Self
from uuid import UUID, uuid4

CENT = Decimal("0.01")

FIELD_TYPES: tuple[type, ...] = (UUID, int, Decimal, str, datetime)
"""The only Python types an event field may have; each has exactly one wire form."""


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One event field: its Python attribute, its JSON key and its type."""

    name: str
    wire_name: str
    type: type
    required: bool
    nullable: bool = False
    """``X | None = None``: an optional field, left out of the JSON while it is None."""


def to_money(value: Decimal) -> Decimal:
    """Return ``value`` with exactly two decimal places.

    Raises ValueError unless that is exact: ``49.9`` becomes ``49.90``, ``49.999`` is rejected
    rather than rounded, so no amount ever changes silently.
    """
    if not value.is_finite():
        raise ValueError(f"expected a finite amount, got {value}")
    try:
        quantized = value.quantize(CENT)
    except InvalidOperation:
        raise ValueError(f"amount out of range: {value}") from None
    if quantized != value:
        raise ValueError(f"expected at most 2 decimal places, got {value}")
    return quantized


def _camel_case(name: str) -> str:
    return re.sub(r"_([a-z])", lambda match: match.group(1).upper(), name)


_FIELDS: dict[type["Event"], tuple[FieldSpec, ...]] = {}


def event_fields(event_class: type["Event"]) -> tuple[FieldSpec, ...]:
    """The fields of ``event_class`` in declaration order (common fields first), computed once."""
    if event_class not in _FIELDS:
        _FIELDS[event_class] = _inspect_fields(event_class)
    return _FIELDS[event_class]


def _inspect_fields(event_class: type["Event"]) -> tuple[FieldSpec, ...]:
    hints = typing.get_type_hints(event_class)
    specs = []
    for field in dataclasses.fields(event_class):
        field_type = hints[field.name]
        nullable = typing.get_origin(field_type) in (typing.Union, types.UnionType) and (
            type(None) in typing.get_args(field_type)
        )
        if nullable:
            (field_type,) = (arg for arg in typing.get_args(field_type) if arg is not type(None))
            if field.default is not None:
                raise TypeError(f"{event_class.__name__}.{field.name}: optional needs = None")
        if field_type not in FIELD_TYPES:
            raise TypeError(f"{event_class.__name__}.{field.name}: unsupported type {field_type!r}")
        required = (
            field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING
        )
        specs.append(FieldSpec(field.name, _camel_case(field.name), field_type, required, nullable))
    return tuple(specs)


def _validated(spec: FieldSpec, value: object) -> object:
    """Check ``value`` against the field type; return it normalised (money to cents, UTC time)."""
    if value is None and spec.nullable:
        return None
    if spec.type is int:
        # bool is an int subclass, and True must never pass as a quantity of 1.
        if type(value) is not int:
            raise TypeError(f"{spec.name}: expected int, got {type(value).__name__}")
        return value
    if not isinstance(value, spec.type):
        raise TypeError(f"{spec.name}: expected {spec.type.__name__}, got {type(value).__name__}")
    if isinstance(value, Decimal):
        try:
            return to_money(value)
        except ValueError as error:
            raise ValueError(f"{spec.name}: {error}") from None
    if isinstance(value, datetime):
        if value.utcoffset() is None:
            raise ValueError(f"{spec.name}: expected an aware datetime, got a naive one")
        return value.astimezone(UTC)
    return value


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """Base of all saga events: immutable, keyword-only, validated on construction.

    After construction money fields hold exactly two decimal places and ``occurred_at`` is in UTC.
    """

    event_type: ClassVar[str]
    """The ``eventType`` header value: the class name."""

    event_id: UUID
    order_id: int
    order_number: UUID
    occurred_at: datetime

    # No super() call: slotted dataclasses are re-created by the decorator, which breaks
    # zero-argument super() (CPython gh-90562); object.__init_subclass__ does nothing anyway.
    def __init_subclass__(cls) -> None:
        cls.event_type = cls.__name__

    def __post_init__(self) -> None:
        for spec in event_fields(type(self)):
            value = getattr(self, spec.name)
            normalised = _validated(spec, value)
            if normalised is not value:
                # The instance is frozen; normalising in place is the documented idiom.
                object.__setattr__(self, spec.name, normalised)

    @classmethod
    def new(cls, **fields: Any) -> Self:
        """A new event with a fresh ``event_id`` and ``occurred_at`` set to now (UTC)."""
        return cls(event_id=uuid4(), occurred_at=datetime.now(UTC), **fields)
