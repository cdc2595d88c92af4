"""Stock and reservations. Each function is one transaction with the events it publishes.

Stock moves only through conditional UPDATEs (``... WHERE available >= quantity``), so two
concurrent reservations can never take the same unit, and the table's check constraints hold
the accounting invariant whatever happens here.
"""

import logging
from collections.abc import Sequence
from functools import partial
from uuid import UUID

from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from saga_events import (
    InventoryFailedEvent,
    InventoryReleasedEvent,
    InventoryReservedEvent,
    OrderFailedEvent,
    OrderPlacedEvent,
)
from saga_runtime import outbox
from saga_runtime.cancellation import undo_or_forbid
from saga_runtime.handling import record_of
from saga_runtime.text import storable

from .models import MAX_STOCK, Reservation, ReservationStatus, Stock

logger = logging.getLogger(__name__)


_SKU_LENGTH = Stock._meta.get_field("sku_code").max_length


class StockLimitExceeded(ValueError):
    pass


@transaction.atomic
def add_stock(*, sku_code: str, quantity: int) -> tuple[Stock, bool]:
    """Add ``quantity`` units of ``sku_code``, creating the SKU if new; return (stock, created).

    Raises StockLimitExceeded if the SKU's total would no longer fit its column.
    """
    if quantity > MAX_STOCK:
        raise StockLimitExceeded(f"quantity must not exceed {MAX_STOCK}")
    for _ in range(2):  # a concurrent first insert of the same SKU makes us update instead
        updated = Stock.objects.filter(
            sku_code=sku_code, total_added__lte=MAX_STOCK - quantity
        ).update(available=F("available") + quantity, total_added=F("total_added") + quantity)
        if updated:
            return Stock.objects.get(sku_code=sku_code), False
        if Stock.objects.filter(sku_code=sku_code).exists():
            raise StockLimitExceeded(f"stock of {sku_code} would exceed {MAX_STOCK}")
        try:
            with transaction.atomic():
                return Stock.objects.create(
                    sku_code=sku_code, available=quantity, total_added=quantity
                ), True
        except IntegrityError:
            continue
    raise RuntimeError(f"could not add stock to {sku_code}")


@transaction.atomic
def reserve_stock(*, order: OrderPlacedEvent) -> Reservation | None:
    """Hold the order's quantity, or refuse; publish InventoryReserved or InventoryFailed.

    At most once per order: an order that already has a reservation (held, released, shipped,
    rejected or cancelled) is left alone, even if OrderPlaced comes again with a new event id.
    """
    [reservation] = reserve_stock_for_orders(orders=[order])
    return reservation


@transaction.atomic
def reserve_stock_for_orders(*, orders: Sequence[OrderPlacedEvent]) -> list[Reservation | None]:
    """:func:`reserve_stock` for each of ``orders``, with the same outcome as calling it for
    each in turn: their statements run in their order, so each order sees the stock the ones
    before it left. What is new is that they go to PostgreSQL together, in one round trip
    (docs/decisions/0016). Returns each order's new reservation, or None where it was ignored.
    """
    results = []
    for order, (reservation, taken) in zip(orders, _hold(orders), strict=True):
        # Its events continue the trace of the record that carried this order, when the
        # worker hands a batch's orders over at once (saga_runtime.handling).
        with record_of(order):
            results.append(_publish_outcome(order, reservation, taken))
    return results


def _publish_outcome(
    order: OrderPlacedEvent, reservation: Reservation | None, taken: bool
) -> Reservation | None:
    if reservation is None:
        logger.warning("order already has a reservation; ignored")
        return None
    if taken:
        outbox.publish(
            InventoryReservedEvent.new(
                order_id=order.order_id,
                order_number=order.order_number,
                sku_code=order.sku_code,
                reserved_quantity=order.quantity,
            )
        )
        return reservation
    reason = (
        f"insufficient stock for {order.sku_code}"
        if _stockable(order) and Stock.objects.filter(sku_code=order.sku_code).exists()
        else f"unknown SKU {order.sku_code}"
    )
    reservation.status, reservation.reason = ReservationStatus.REJECTED, storable(reason)
    reservation.save(update_fields=["status", "reason", "updated_at"])
    outbox.publish(
        InventoryFailedEvent.new(
            order_id=order.order_id,
            order_number=order.order_number,
            sku_code=order.sku_code,
            requested_quantity=order.quantity,
            reason=reservation.reason,
        )
    )
    return reservation


def _stockable(order: OrderPlacedEvent) -> bool:
    # Only a SKU the API could have created can be in stock. Another one (too long, or text
    # PostgreSQL cannot hold, as a producer without our order API's checks may send) is unknown:
    # refused with InventoryFailed, rather than failing every attempt and leaving the order stuck.
    return len(order.sku_code) <= _SKU_LENGTH and storable(order.sku_code) == order.sku_code


#: The reservation's attribute names in the order Model.from_db takes them.
_RESERVATION_ATTNAMES = [field.attname for field in Reservation._meta.concrete_fields]
_RESERVATION_COLUMNS = ", ".join(f'"{field.column}"' for field in Reservation._meta.concrete_fields)

_HOLD = f"""
    WITH reservation AS (
        INSERT INTO {Reservation._meta.db_table}
            (order_id, order_number, sku_code, quantity, status, reason, created_at, updated_at)
        VALUES (%(order_id)s, %(order_number)s, %(sku_code)s, %(quantity)s, %(status)s,
                %(reason)s, %(created_at)s, %(updated_at)s)
        ON CONFLICT (order_number) DO NOTHING
        RETURNING id
    ), taken AS (
        UPDATE {Stock._meta.db_table}
        SET available = available - %(quantity)s, reserved = reserved + %(quantity)s,
            updated_at = %(updated_at)s
        WHERE %(stockable)s AND sku_code = %(sku_code)s AND available >= %(quantity)s
            AND EXISTS (SELECT FROM reservation)
        RETURNING 1
    )
    SELECT id, EXISTS (SELECT FROM taken) FROM reservation
"""


def _hold(orders: Sequence[OrderPlacedEvent]) -> list[tuple[Reservation | None, bool]]:
    """For each order, in order, one statement: insert its reservation as HELD unless it has
    one (then ``(None, False)``), and, if its SKU can be in stock, take its quantity from the
    stock if there is enough. Returns each new reservation and whether the stock was taken (if
    not, the caller rejects it).

    Every saga passes here, so each order is one statement instead of the ORM's three (look for
    a reservation, update the stock, insert; docs/decisions/0014), and the statements of all
    the orders are pipelined: sent together, executed one after the other, answered together
    (docs/decisions/0016). The unique order number settles a race with a concurrent insert for
    the same order (ON CONFLICT waits for it), and the stock's check constraints still hold
    whatever this statement does. Only the new id comes back: the row holds nothing else that
    is not already here.
    """
    if not orders:
        return []
    # The time as the ORM's auto_now fields take it (not the transaction's start).
    now = timezone.now()
    rows = [
        _columns(order)
        | {
            "status": ReservationStatus.HELD,
            "reason": "",
            "created_at": now,
            "updated_at": now,
            "stockable": _stockable(order),
        }
        for order in orders
    ]
    # Django's cursor would drop the results of executemany; psycopg's keeps one result set per
    # row with returning=True. Its errors still become Django's (a lost connection stays an
    # OperationalError, which the worker retries).
    with connection.cursor() as cursor, connection.wrap_database_errors:
        cursor.cursor.executemany(_HOLD, rows, returning=True)
        inserted = [cursor.cursor.fetchone()]
        while cursor.cursor.nextset():
            inserted.append(cursor.cursor.fetchone())
    held = []
    for row, result in zip(rows, inserted, strict=True):
        if result is None:
            held.append((None, False))
            continue
        row["id"], taken = result
        values = [row[name] for name in _RESERVATION_ATTNAMES]
        held.append((Reservation.from_db(connection.alias, _RESERVATION_ATTNAMES, values), taken))
    return held


@transaction.atomic
def release_reservation(*, order_number: UUID, reason: str) -> Reservation | None:
    """Give a held reservation's stock back, once, and confirm it with InventoryReleased;
    None if there is nothing held to release."""
    reservation = _move(order_number, to=ReservationStatus.RELEASED, reason=reason)
    if reservation:
        outbox.publish(
            InventoryReleasedEvent.new(
                order_id=reservation.order_id,
                order_number=reservation.order_number,
                sku_code=reservation.sku_code,
                released_quantity=reservation.quantity,
                reason=reservation.reason,
            )
        )
    return reservation


@transaction.atomic
def cancel_reservation(*, order: OrderFailedEvent) -> Reservation | None:
    """The order failed: release what is held for it, or, if its OrderPlaced has not been
    applied yet, record it CANCELLED so that it never reserves (whichever comes first).
    None if nothing changed."""
    return undo_or_forbid(
        undo=partial(release_reservation, order_number=order.order_number, reason=order.reason),
        model=Reservation,
        marker={
            "order_id": order.order_id,
            "order_number": order.order_number,
            "sku_code": storable(order.sku_code)[:_SKU_LENGTH],
            "quantity": 0,
            "status": ReservationStatus.CANCELLED,
            "reason": storable(order.reason),
        },
    )


@transaction.atomic
def finalize_reservation(*, order_number: UUID) -> Reservation | None:
    """The order shipped: its held stock becomes shipped stock, once."""
    return _move(order_number, to=ReservationStatus.SHIPPED, reason="")


def _columns(order: OrderPlacedEvent) -> dict:
    return {
        "order_id": order.order_id,
        "order_number": order.order_number,
        # The SKU as far as the column holds it; the reason keeps all of an unknown one.
        "sku_code": storable(order.sku_code)[:_SKU_LENGTH],
        "quantity": order.quantity,
    }


#: What moving a held reservation to each status does to its SKU's stock.
_STOCK_CHANGE = {
    ReservationStatus.SHIPPED: "reserved = reserved - moved.quantity, "
    "shipped = shipped + moved.quantity",
    ReservationStatus.RELEASED: "available = available + moved.quantity, "
    "reserved = reserved - moved.quantity",
}

_MOVE = f"""
    WITH moved AS (
        UPDATE {Reservation._meta.db_table}
        SET status = %(to)s, reason = %(reason)s, updated_at = %(now)s
        WHERE order_number = %(order_number)s AND status = %(held)s
        RETURNING {_RESERVATION_COLUMNS}
    ), stock AS (
        UPDATE {Stock._meta.db_table}
        SET {{stock_change}}, updated_at = %(now)s
        FROM moved WHERE {Stock._meta.db_table}.sku_code = moved.sku_code
    )
    SELECT * FROM moved
"""


def _move(order_number: UUID, *, to: str, reason: str) -> Reservation | None:
    """HELD → ``to``, with the stock it moves, in one statement; the moved reservation, or None
    if the order has none held.

    A conditional UPDATE: of two concurrent callers only one finds it HELD (the other waits
    for its row lock, then finds it moved). The finalisation of every shipped order passes
    here, so this is one round trip instead of the ORM's three (move, read, update the stock;
    docs/decisions/0018); the stock's check constraints hold whatever it does.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            _MOVE.format(stock_change=_STOCK_CHANGE[to]),
            {
                "order_number": order_number,
                "held": ReservationStatus.HELD,
                "to": to,
                "reason": storable(reason),
                "now": timezone.now(),
            },
        )
        row = cursor.fetchone()
    if row is None:
        logger.info("no held reservation to move to %s; nothing changed", to)
        return None
    return Reservation.from_db(connection.alias, _RESERVATION_ATTNAMES, row)
