"""Charges and refunds. Each function is one transaction with the events it publishes."""

import logging
from decimal import Decimal
from functools import partial
from uuid import UUID

from django.db import transaction
from django.utils import timezone

from saga_events import (
    OrderConfirmedEvent,
    OrderFailedEvent,
    PaymentFailedEvent,
    PaymentRefundedEvent,
    PaymentSucceededEvent,
)
from saga_runtime import outbox
from saga_runtime.cancellation import undo_or_forbid
from saga_runtime.db import insert_once
from saga_runtime.text import storable

from .decisions import decline_reason
from .models import Payment, PaymentStatus

logger = logging.getLogger(__name__)


@transaction.atomic
def charge_payment(*, order: OrderConfirmedEvent) -> Payment | None:
    """Charge price × quantity once per order; publish PaymentSucceeded or PaymentFailed.

    An order already charged (or declined) is left alone, whatever event id the request has;
    the unique order number makes that hold under concurrency too.
    """
    amount = (order.price * order.quantity).quantize(Decimal("0.01"))
    reason = decline_reason(amount)
    payment = Payment(
        order_id=order.order_id,
        order_number=order.order_number,
        amount=amount,
        status=PaymentStatus.DECLINED if reason else PaymentStatus.SUCCEEDED,
        reason=reason or "",
    )
    if not insert_once(payment):
        logger.warning("order already has a payment; ignored")
        return None
    ids = {"order_id": order.order_id, "order_number": order.order_number}
    if reason:
        outbox.publish(PaymentFailedEvent.new(**ids, amount=amount, reason=reason))
    else:
        outbox.publish(PaymentSucceededEvent.new(**ids, amount=amount))
    return payment


@transaction.atomic
def refund_payment(*, order_number: UUID, reason: str) -> Payment | None:
    """Refund the order's successful charge, at most once; publish PaymentRefunded.

    A conditional UPDATE (SUCCEEDED → REFUNDED) makes the refund happen once even when two
    deliveries race; an order with no successful charge changes nothing.
    """
    refunded = Payment.objects.filter(
        order_number=order_number, status=PaymentStatus.SUCCEEDED
    ).update(
        status=PaymentStatus.REFUNDED,
        refund_reason=storable(reason),
        refunded_at=timezone.now(),
    )
    if not refunded:
        logger.info("no successful charge to refund; nothing changed")
        return None
    payment = Payment.objects.get(order_number=order_number)
    outbox.publish(
        PaymentRefundedEvent.new(
            order_id=payment.order_id,
            order_number=payment.order_number,
            amount=payment.amount,
            reason=payment.refund_reason,
        )
    )
    return payment


@transaction.atomic
def cancel_payment(*, order: OrderFailedEvent) -> Payment | None:
    """The order failed after it asked for payment (its deadline passed): refund its charge,
    or, if its OrderConfirmed has not been applied yet, record it CANCELLED so that it is never
    charged (whichever comes first). None if nothing changed (declined, refunded or cancelled
    already)."""
    return undo_or_forbid(
        undo=partial(refund_payment, order_number=order.order_number, reason=order.reason),
        model=Payment,
        marker={
            "order_id": order.order_id,
            "order_number": order.order_number,
            "amount": 0,
            "status": PaymentStatus.CANCELLED,
            "reason": storable(order.reason),
        },
    )
