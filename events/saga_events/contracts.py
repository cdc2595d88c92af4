"""The thirteen events of the saga contract (docs/contract.md).

Field names are the snake_case forms of the contract's camelCase keys; the codec derives one from
the other. Changing a field here changes the wire format: see the schema snapshots in ``schemas/``.
"""

from dataclasses import dataclass
from decimal import Decimal

from saga_events.base import Event


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderPlacedEvent(Event):
    sku_code: str
    price: Decimal
    quantity: int


@dataclass(frozen=True, slots=True, kw_only=True)
class InventoryReservedEvent(Event):
    sku_code: str
    reserved_quantity: int


@dataclass(frozen=True, slots=True, kw_only=True)
class InventoryFailedEvent(Event):
    sku_code: str
    requested_quantity: int
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderFailedEvent(Event):
    sku_code: str
    reserved_quantity: int
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderConfirmedEvent(Event):
    price: Decimal
    quantity: int


@dataclass(frozen=True, slots=True, kw_only=True)
class PaymentSucceededEvent(Event):
    amount: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class PaymentFailedEvent(Event):
    amount: Decimal
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderPaidEvent(Event):
    # Added to the contract (optional, so JVM producers that omit them stay compatible): the
    # shipment service decides on the parcel size without reading the order service's data.
    sku_code: str | None = None
    quantity: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ShipmentShippedEvent(Event):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class ShipmentFailedEvent(Event):
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderShipmentFailedEvent(Event):
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PaymentRefundedEvent(Event):
    amount: Decimal
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class InventoryReleasedEvent(Event):
    # Added to the contract: inventory confirms that it gave an order's held stock back, so
    # the order can tell a compensation done from one still pending (ADR 0011).
    sku_code: str
    released_quantity: int
    reason: str


ALL_EVENTS: tuple[type[Event], ...] = (
    OrderPlacedEvent,
    InventoryReservedEvent,
    InventoryFailedEvent,
    OrderFailedEvent,
    OrderConfirmedEvent,
    PaymentSucceededEvent,
    PaymentFailedEvent,
    OrderPaidEvent,
    ShipmentShippedEvent,
    ShipmentFailedEvent,
    OrderShipmentFailedEvent,
    PaymentRefundedEvent,
    InventoryReleasedEvent,
)
