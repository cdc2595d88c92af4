"""The order saga's state machine: every change of an order's status happens here.

Each function runs in one transaction with the events it publishes (through the outbox), so a
status and the event announcing it commit together or not at all. A function called for an
order that is not in the state it expects changes nothing, publishes nothing and returns None:
that is how a duplicate or out-of-order event is absorbed.
"""

import hashlib
import logging
from datetime import datetime, timedelta
from decimal import Decimal
from uuid import UUID, uuid4

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from saga_events import (
    Event,
    InventoryReleasedEvent,
    OrderConfirmedEvent,
    OrderFailedEvent,
    OrderPaidEvent,
    OrderPlacedEvent,
    OrderShipmentFailedEvent,
    PaymentRefundedEvent,
)
from saga_runtime import outbox
from saga_runtime.text import storable

from . import metrics
from .models import (
    TERMINAL_STATUSES,
    Compensation,
    IdempotencyKey,
    Order,
    OrderHistory,
    OrderStatus,
)

logger = logging.getLogger(__name__)

#: The ``event_type`` of the history lines the saga deadline writes (no event caused them).
DEADLINE = "SagaDeadline"

#: What a failed order needs undone, by its status, and the event confirming each step.
COMPENSATION_STEPS = {
    OrderStatus.PAYMENT_FAILED: {"release": InventoryReleasedEvent},
    OrderStatus.SHIPMENT_FAILED: {
        "release": InventoryReleasedEvent,
        "refund": PaymentRefundedEvent,
    },
}


def _deadline() -> timedelta:
    return timedelta(seconds=settings.SAGA_DEADLINE_SECONDS)


#: The order's columns as a statement returns them, and their attribute names for from_db.
_ORDER_COLUMNS = ", ".join(f'"{field.column}"' for field in Order._meta.concrete_fields)
_ORDER_ATTNAMES = [field.attname for field in Order._meta.concrete_fields]
#: What place_order inserts: every column but the id.
_NEW_ORDER_FIELDS = [field for field in Order._meta.concrete_fields if not field.primary_key]

_PLACE = f"""
    WITH placed AS (
        INSERT INTO {Order._meta.db_table}
            ({", ".join(f'"{field.column}"' for field in _NEW_ORDER_FIELDS)})
        VALUES ({", ".join(f"%({field.attname})s" for field in _NEW_ORDER_FIELDS)})
        RETURNING {_ORDER_COLUMNS}
    ), line AS (
        INSERT INTO {OrderHistory._meta.db_table}
            (order_id, from_status, to_status, event_type, event_id, reason, occurred_at)
        SELECT id, '', %(to_status)s, %(event_type)s, %(event_id)s, '', created_at FROM placed
    )
    SELECT * FROM placed
"""


class IdempotencyKeyReused(ValueError):
    """The key was used before, within the retention window, for a different order."""


@transaction.atomic
def place_order(*, sku_code: str, price: Decimal, quantity: int, owner=None) -> Order:
    """Store a PENDING order with its first history line and publish OrderPlacedEvent with it.

    The order and its history line are one statement, as a saga step's change is
    (:func:`_change_status`): every order passes here (docs/decisions/0018). The event's id is
    chosen first, so that the line can name it.
    """
    now = timezone.now()
    order = Order(
        owner=owner,
        sku_code=sku_code,
        price=price,
        quantity=quantity,
        deadline_at=now + _deadline(),
        created_at=now,
        updated_at=now,
    )
    event_id = uuid4()
    values = {field.attname: getattr(order, field.attname) for field in _NEW_ORDER_FIELDS}
    with connection.cursor() as cursor:
        cursor.execute(
            _PLACE,
            values
            | {
                "event_type": OrderPlacedEvent.event_type,
                "event_id": event_id,
                "to_status": OrderStatus.PENDING,
            },
        )
        order = Order.from_db(connection.alias, _ORDER_ATTNAMES, cursor.fetchone())
    outbox.publish(
        OrderPlacedEvent(
            event_id=event_id,
            occurred_at=now,
            order_id=order.id,
            order_number=order.order_number,
            sku_code=sku_code,
            # As given: a price the event would have to round fails here, and the order with it.
            price=price,
            quantity=quantity,
        )
    )
    return order


@transaction.atomic
def place_order_once(
    *, owner, key: str, sku_code: str, price: Decimal, quantity: int
) -> tuple[Order, bool]:
    """Place the order unless ``owner`` placed one with ``key`` within the retention window
    (``IDEMPOTENCY_KEY_RETENTION_HOURS``); return (the order, whether it was placed now).

    Raises IdempotencyKeyReused if the key came with a different order before. Two calls with
    one key at once place one order: the unique (owner, key) makes the second insert wait for
    the first transaction and then fail, after which it finds the first one's order.
    """
    request = f"{sku_code}\n{price.quantize(Decimal('0.01'))}\n{quantity}"
    fingerprint = hashlib.sha256(request.encode()).hexdigest()
    while True:
        try:
            with transaction.atomic():
                claim = IdempotencyKey.objects.create(owner=owner, key=key, fingerprint=fingerprint)
            break
        except IntegrityError:
            claim = IdempotencyKey.objects.select_for_update().filter(owner=owner, key=key).first()
            if claim is None:
                continue  # expired and forgotten in between (forget_expired_idempotency_keys)
            if claim.created_at > _idempotency_cutoff():
                if claim.fingerprint != fingerprint:
                    raise IdempotencyKeyReused(
                        "This Idempotency-Key was used for a different order."
                    ) from None
                return claim.order, False
            # Expired: the key starts over, for this request.
            claim.fingerprint, claim.created_at = fingerprint, timezone.now()
            break
    claim.order = place_order(sku_code=sku_code, price=price, quantity=quantity, owner=owner)
    claim.save()
    return claim.order, True


@transaction.atomic
def forget_expired_idempotency_keys() -> int:
    """Delete the Idempotency-Keys older than ``IDEMPOTENCY_KEY_RETENTION_HOURS`` (the order
    worker does it hourly); return how many. Sent again, such a key places a new order, as it
    would if its row were kept (place_order_once)."""
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=_idempotency_cutoff()).delete()
    return deleted


def _idempotency_cutoff() -> datetime:
    """Keys created before this have expired (``IDEMPOTENCY_KEY_RETENTION_HOURS``)."""
    return timezone.now() - timedelta(hours=settings.IDEMPOTENCY_KEY_RETENTION_HOURS)


@transaction.atomic
def confirm_order(*, order_number: UUID, cause: Event) -> Order | None:
    """PENDING → CONFIRMED once stock is reserved; payment is asked for with OrderConfirmed."""
    order = _transition(order_number, cause, expected=OrderStatus.PENDING, to=OrderStatus.CONFIRMED)
    if order:
        outbox.publish(
            OrderConfirmedEvent.new(
                order_id=order.id,
                order_number=order.order_number,
                price=order.price,
                quantity=order.quantity,
            )
        )
    return order


@transaction.atomic
def fail_order(*, order_number: UUID, reason: str, cause: Event) -> Order | None:
    """PENDING → FAILED when stock could not be reserved; OrderFailed tells inventory."""
    order = _transition(
        order_number, cause, expected=OrderStatus.PENDING, to=OrderStatus.FAILED, reason=reason
    )
    if order:
        outbox.publish(_order_failed(order, reserved_quantity=0))
    return order


@transaction.atomic
def mark_order_paid(*, order_number: UUID, cause: Event) -> Order | None:
    """CONFIRMED → PAID; shipment is asked for with OrderPaid."""
    order = _transition(order_number, cause, expected=OrderStatus.CONFIRMED, to=OrderStatus.PAID)
    if order:
        outbox.publish(
            OrderPaidEvent.new(
                order_id=order.id,
                order_number=order.order_number,
                sku_code=order.sku_code,
                quantity=order.quantity,
            )
        )
    return order


@transaction.atomic
def mark_payment_failed(*, order_number: UUID, reason: str, cause: Event) -> Order | None:
    """CONFIRMED → PAYMENT_FAILED. Inventory releases the stock on the same PaymentFailed event."""
    return _transition(
        order_number,
        cause,
        expected=OrderStatus.CONFIRMED,
        to=OrderStatus.PAYMENT_FAILED,
        reason=reason,
    )


@transaction.atomic
def mark_order_shipped(*, order_number: UUID, cause: Event) -> Order | None:
    """PAID → SHIPPED: the saga's happy end."""
    return _transition(order_number, cause, expected=OrderStatus.PAID, to=OrderStatus.SHIPPED)


@transaction.atomic
def mark_shipment_failed(*, order_number: UUID, reason: str, cause: Event) -> Order | None:
    """PAID → SHIPMENT_FAILED; OrderShipmentFailed makes inventory release and payment refund."""
    order = _transition(
        order_number,
        cause,
        expected=OrderStatus.PAID,
        to=OrderStatus.SHIPMENT_FAILED,
        reason=reason,
    )
    if order:
        outbox.publish(
            OrderShipmentFailedEvent.new(
                order_id=order.id,
                order_number=order.order_number,
                reason=order.failure_reason,
            )
        )
    return order


@transaction.atomic
def record_refund(
    *, order_number: UUID, amount: Decimal, reason: str, cause: Event
) -> Order | None:
    """Note in the order's history that its payment was refunded, once; a compensation that
    waited for it may be done."""
    return _record_compensation(
        order_number,
        cause,
        f"refunded {amount}: {reason}",
        expected=(OrderStatus.PAYMENT_FAILED, OrderStatus.SHIPMENT_FAILED),
    )


@transaction.atomic
def record_release(*, order_number: UUID, quantity: int, reason: str, cause: Event) -> Order | None:
    """Note in the order's history that inventory gave its reserved stock back, once; a
    compensation that waited for it may be done. It may come before the order has failed (the
    release answers payment's PaymentFailed, which the order gets on its own)."""
    return _record_compensation(
        order_number,
        cause,
        f"released {quantity} units: {reason}",
        expected=(
            OrderStatus.CONFIRMED,
            OrderStatus.FAILED,
            OrderStatus.PAYMENT_FAILED,
            OrderStatus.SHIPMENT_FAILED,
        ),
    )


def _record_compensation(
    order_number: UUID, cause: Event, note: str, *, expected: tuple[str, ...]
) -> Order | None:
    order = _locked_order(order_number)
    if order is None or not _fits(order, cause, expected=expected):
        return None
    if order.history.filter(event_type=cause.event_type).exists():
        logger.info(
            "%s already recorded", cause.event_type, extra={"orderNumber": str(order_number)}
        )
        metrics.IGNORED_EVENTS.labels("duplicate").inc()
        return None
    _note(order, cause.event_type, cause.event_id, note)
    if order.compensation in (Compensation.PENDING, Compensation.FAILED):
        _settle_compensation(order)
    return order


@transaction.atomic
def expire_saga(*, order_id: int, now: datetime | None = None) -> Order | None:
    """Enforce the order's deadline if it has passed; None if there was nothing to do.

    - PENDING (inventory never answered) → FAILED, and OrderFailed tells inventory to release
      or never to reserve, whichever comes first for it.
    - CONFIRMED (payment never answered) → PAYMENT_FAILED; OrderFailed, now carrying the
      reserved quantity, makes inventory release and payment refuse a late charge or refund it.
    - PAID (the carrier never answered) stays PAID: the parcel may have left, and only the
      shipment service knows. The order is marked expired (overdue, counted) and waits.
    - A compensation still pending → FAILED (counted; DONE once its confirmation comes).

    Safe with several callers at once: the order's row lock serialises them and the state is
    read again under it, so a deadline is enforced once.
    """
    now = now or timezone.now()
    order = Order.objects.select_for_update().filter(pk=order_id, deadline_at__lte=now).first()
    if order is None:
        return None
    seconds = settings.SAGA_DEADLINE_SECONDS
    if order.status == OrderStatus.PENDING:
        reason = f"inventory did not answer within {seconds} s (saga deadline)"
        order = _expire(order, to=OrderStatus.FAILED, reason=reason)
        outbox.publish(_order_failed(order, reserved_quantity=0))
    elif order.status == OrderStatus.CONFIRMED:
        reason = f"payment did not answer within {seconds} s (saga deadline)"
        order = _expire(order, to=OrderStatus.PAYMENT_FAILED, reason=reason)
        outbox.publish(_order_failed(order, reserved_quantity=order.quantity))
    elif order.status == OrderStatus.PAID and order.expired_at is None:
        reason = f"shipment did not answer within {seconds} s; waiting for the carrier"
        order = _expire(order, to=OrderStatus.PAID, reason=reason)
    elif order.compensation == Compensation.PENDING:
        missing = _missing_steps(order)
        order.compensation = Compensation.FAILED
        order.save(update_fields=["compensation", "updated_at"])
        reason = f"compensation failed: no {' or '.join(missing)} confirmed within {seconds} s"
        _note(order, DEADLINE, None, reason)
        for step in missing:
            transaction.on_commit(metrics.COMPENSATIONS_FAILED.labels(step).inc)
    else:
        return None
    return order


def expire_overdue_sagas(*, now: datetime | None = None, limit: int = 500) -> int:
    """Enforce every passed deadline (at most ``limit``, oldest first); return how many.

    Each order is expired in a transaction of its own (:func:`expire_saga`), so one that
    fails does not hold back the others, and a crash loses nothing: the next run finds it.
    """
    now = now or timezone.now()
    due = (
        Order.objects.filter(deadline_at__lte=now)
        .filter(
            Q(status__in=[OrderStatus.PENDING, OrderStatus.CONFIRMED])
            | Q(status=OrderStatus.PAID, expired_at__isnull=True)
            | Q(compensation=Compensation.PENDING)
        )
        .order_by("deadline_at")
        .values_list("pk", flat=True)[:limit]
    )
    return sum(expire_saga(order_id=pk, now=now) is not None for pk in list(due))


def _expire(order: Order, *, to: str, reason: str) -> Order:
    """Mark the (locked) order expired and move it to ``to``; return it as it is now."""
    from_status = order.status
    order.expired_at = timezone.now()
    order.save(update_fields=["expired_at", "updated_at"])
    transaction.on_commit(metrics.SAGAS_EXPIRED.labels(from_status).inc)
    logger.warning(
        "saga deadline passed: %s", reason, extra={"orderNumber": str(order.order_number)}
    )
    if to == from_status:
        _note(order, DEADLINE, None, reason)
        return order
    return _change_status(
        order.order_number, DEADLINE, None, expected=from_status, to=to, reason=reason
    )


def _order_failed(order: Order, *, reserved_quantity: int) -> OrderFailedEvent:
    return OrderFailedEvent.new(
        order_id=order.id,
        order_number=order.order_number,
        sku_code=order.sku_code,
        reserved_quantity=reserved_quantity,
        reason=order.failure_reason,
    )


def _transition(
    order_number: UUID, cause: Event, *, expected: str, to: str, reason: str = ""
) -> Order | None:
    order = _change_status(
        order_number, cause.event_type, cause.event_id, expected=expected, to=to, reason=reason
    )
    if order is None:
        # Say why, once, off the saga's path: an unknown order or one in another state.
        known = Order.objects.filter(order_number=order_number).first()
        if known is None:
            _unknown(order_number)
        else:
            _fits(known, cause, expected=expected)
    return order


def _change_status(
    order_number: UUID,
    event_type: str,
    event_id: UUID | None,
    *,
    expected: str,
    to: str,
    reason: str,
) -> Order | None:
    """``expected`` → ``to`` with its history line, in one statement: a conditional UPDATE (of
    two concurrent callers only one wins, and the row lock it takes until commit keeps one
    order's outbox rows in commit order) and the history INSERT of the row it changed. Returns
    the changed order, or None if it is unknown or not in ``expected``.

    Every step of every saga passes here, so this is one round trip instead of the ORM's three
    (lock and read, update, insert); docs/decisions/0014.
    """
    reason = storable(reason)
    compensating = to in COMPENSATION_STEPS
    # The time as the ORM's auto_now fields take it, so that history lines written here and by
    # the ORM in one transaction keep their order.
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH changed AS (
                UPDATE {Order._meta.db_table}
                SET status = %(to)s, failure_reason = %(reason)s, updated_at = %(now)s,
                    compensation = CASE WHEN %(compensating)s THEN %(pending)s
                                        ELSE compensation END,
                    deadline_at = CASE WHEN %(compensating)s THEN %(deadline_at)s
                                       ELSE deadline_at END
                WHERE order_number = %(order_number)s AND status = %(expected)s
                RETURNING {_ORDER_COLUMNS}
            ), line AS (
                INSERT INTO {OrderHistory._meta.db_table}
                    (order_id, from_status, to_status, event_type, event_id, reason, occurred_at)
                SELECT id, %(expected)s, %(to)s, %(event_type)s, %(event_id)s, %(reason)s, %(now)s
                FROM changed
            )
            SELECT * FROM changed
            """,
            {
                "order_number": order_number,
                "expected": expected,
                "to": to,
                "reason": reason,
                "compensating": compensating,
                # The compensation gets a deadline of its own, from the moment it is asked for.
                "pending": Compensation.PENDING,
                "deadline_at": now + _deadline() if compensating else None,
                "event_type": event_type,
                "event_id": event_id,
                "now": now,
            },
        )
        row = cursor.fetchone()
    if row is None:
        return None
    order = Order.from_db(connection.alias, _ORDER_ATTNAMES, row)
    if compensating:
        _settle_compensation(order)  # a confirmation may have come first
    if to in TERMINAL_STATUSES:
        # The requests waiting for the order to end are woken by a trigger (orders.waiting).
        metrics.saga_ended(order)
    return order


def _missing_steps(order: Order) -> list[str]:
    steps = COMPENSATION_STEPS.get(order.status, {})
    confirmed = set(
        order.history.filter(
            event_type__in=[event.event_type for event in steps.values()]
        ).values_list("event_type", flat=True)
    )
    return [step for step, event in steps.items() if event.event_type not in confirmed]


def _settle_compensation(order: Order) -> None:
    """PENDING or FAILED → DONE once every step the order's status needs is confirmed."""
    if _missing_steps(order):
        return
    if order.compensation == Compensation.FAILED:
        transaction.on_commit(metrics.COMPENSATIONS_COMPLETED_LATE.inc)
    order.compensation = Compensation.DONE
    order.save(update_fields=["compensation", "updated_at"])


def _note(order: Order, event_type: str, event_id: UUID | None, reason: str) -> None:
    """A history line that records something without changing the status."""
    OrderHistory.objects.create(
        order=order,
        from_status=order.status,
        to_status=order.status,
        event_type=event_type,
        event_id=event_id,
        reason=storable(reason),
    )


def _locked_order(order_number: UUID) -> Order | None:
    # The row lock serialises every change to one order, so its outbox rows follow commit order.
    order = Order.objects.select_for_update().filter(order_number=order_number).first()
    if order is None:
        _unknown(order_number)
    return order


def _unknown(order_number: UUID) -> None:
    logger.warning("event for an unknown order ignored", extra={"orderNumber": str(order_number)})
    metrics.IGNORED_EVENTS.labels("unknown_order").inc()


def _fits(order: Order, cause: Event, *, expected: str | tuple[str, ...]) -> bool:
    if order.status in ((expected,) if isinstance(expected, str) else expected):
        return True
    logger.warning(
        "%s ignored: order is %s, not %s",
        cause.event_type,
        order.status,
        expected,
        extra={"orderNumber": str(order.order_number), "status": order.status},
    )
    metrics.IGNORED_EVENTS.labels("wrong_state").inc()
    return False
