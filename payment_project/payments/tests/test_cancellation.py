"""An order that failed on its saga deadline after asking for payment (OrderFailed with a
reserved quantity, ADR 0011): it must never stay charged, whichever of OrderFailed and
OrderConfirmed payment applies first."""

from decimal import Decimal

import pytest

from payments import services
from payments.handlers import handle_order_failed
from payments.models import Payment, PaymentStatus
from payments.tests.conftest import order_confirmed
from saga_events import OrderFailedEvent, PaymentRefundedEvent, PaymentSucceededEvent
from saga_runtime.testing import outbox_events, run_at_once

pytestmark = pytest.mark.django_db

REASON = "payment did not answer within 300 s (saga deadline)"


def order_failed(order, reserved_quantity: int | None = None) -> OrderFailedEvent:
    return OrderFailedEvent.new(
        order_id=order.order_id,
        order_number=order.order_number,
        sku_code="SKU-1",
        reserved_quantity=order.quantity if reserved_quantity is None else reserved_quantity,
        reason=REASON,
    )


def test_order_failed_before_order_confirmed_leaves_a_marker_so_the_order_is_never_charged():
    order = order_confirmed("19.99", 3)

    handle_order_failed(order_failed(order))
    assert services.charge_payment(order=order) is None

    payment = Payment.objects.get(order_number=order.order_number)
    assert (payment.status, payment.amount, payment.reason) == (
        PaymentStatus.CANCELLED,
        Decimal("0.00"),
        REASON,
    )
    assert outbox_events(PaymentSucceededEvent, order.order_number) == []


def test_order_failed_after_a_charge_refunds_it():
    order = order_confirmed("19.99", 3)
    services.charge_payment(order=order)

    handle_order_failed(order_failed(order))

    payment = Payment.objects.get(order_number=order.order_number)
    assert (payment.status, payment.refund_reason) == (PaymentStatus.REFUNDED, REASON)
    [refund] = outbox_events(PaymentRefundedEvent, order.order_number)
    assert refund.amount == Decimal("59.97")


def test_order_failed_after_a_decline_changes_nothing():
    order = order_confirmed("6000.00", 1)
    services.charge_payment(order=order)

    handle_order_failed(order_failed(order))

    assert Payment.objects.get(order_number=order.order_number).status == PaymentStatus.DECLINED
    assert outbox_events(PaymentRefundedEvent, order.order_number) == []


def test_an_order_that_failed_before_it_was_confirmed_leaves_no_trace_here():
    # Reserved quantity 0: stock was never reserved, so payment was never asked.
    order = order_confirmed("19.99", 3)

    handle_order_failed(order_failed(order, reserved_quantity=0))

    assert not Payment.objects.filter(order_number=order.order_number).exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("attempt", range(5))
def test_order_failed_and_order_confirmed_at_once_never_leave_a_charge(attempt):
    order = order_confirmed("19.99", 3)

    results = run_at_once(
        lambda: services.charge_payment(order=order),
        lambda: services.cancel_payment(order=order_failed(order)),
    )
    # A loser that hit the unique key rolled back; the worker retries it, as here.
    if isinstance(results[0], Exception):
        services.charge_payment(order=order)
    if isinstance(results[1], Exception):
        services.cancel_payment(order=order_failed(order))

    payment = Payment.objects.get(order_number=order.order_number)
    assert payment.status in (PaymentStatus.CANCELLED, PaymentStatus.REFUNDED)
