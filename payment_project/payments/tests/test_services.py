"""Charges and refunds against the real database: exact money, at most once, under concurrency."""

import uuid
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from payments import services
from payments.models import Payment, PaymentStatus
from payments.tests.conftest import order_confirmed
from saga_events import PaymentFailedEvent, PaymentRefundedEvent, PaymentSucceededEvent
from saga_runtime.models import OutboxMessage
from saga_runtime.testing import outbox_events, run_at_once

pytestmark = pytest.mark.django_db


def payment_of(order) -> Payment:
    return Payment.objects.get(order_number=order.order_number)


# -- charging -------------------------------------------------------------------------------


def test_charge_takes_price_times_quantity_exactly_and_queues_payment_succeeded():
    order = order_confirmed("0.10", 3)  # 0.30000000000000004 in binary floating point

    services.charge_payment(order=order)

    payment = payment_of(order)
    assert (payment.status, payment.amount, payment.order_id) == (
        PaymentStatus.SUCCEEDED,
        Decimal("0.30"),
        order.order_id,
    )
    [succeeded] = outbox_events(PaymentSucceededEvent, order.order_number)
    assert succeeded.amount == Decimal("0.30")
    assert succeeded.order_id == order.order_id
    assert not outbox_events(PaymentFailedEvent, order.order_number)


def test_charge_above_the_limit_is_declined_and_queues_payment_failed(decisions):
    decisions.PAYMENT_DECLINE_ABOVE = Decimal("100.00")
    order = order_confirmed("33.34", 3)

    services.charge_payment(order=order)

    payment = payment_of(order)
    assert (payment.status, payment.amount) == (PaymentStatus.DECLINED, Decimal("100.02"))
    assert payment.reason == "amount 100.02 exceeds the limit of 100.00"
    [failed] = outbox_events(PaymentFailedEvent, order.order_number)
    assert (failed.amount, failed.reason) == (Decimal("100.02"), payment.reason)
    assert not outbox_events(PaymentSucceededEvent, order.order_number)


def test_charge_exactly_at_the_limit_succeeds(decisions):
    decisions.PAYMENT_DECLINE_ABOVE = Decimal("100.00")
    order = order_confirmed("25.00", 4)

    services.charge_payment(order=order)

    assert payment_of(order).status == PaymentStatus.SUCCEEDED


def test_charge_declined_by_the_provider_rate(decisions):
    decisions.PAYMENT_SUCCESS_RATE = 0.0
    order = order_confirmed("1.00", 1)

    services.charge_payment(order=order)

    assert payment_of(order).status == PaymentStatus.DECLINED
    [failed] = outbox_events(PaymentFailedEvent, order.order_number)
    assert failed.reason == "declined by the payment provider"


def test_the_largest_amount_an_order_may_have_is_stored_exactly():
    order = order_confirmed("9999999.99", 1000)

    services.charge_payment(order=order)

    assert payment_of(order).amount == Decimal("9999999990.00")
    [failed] = outbox_events(PaymentFailedEvent, order.order_number)
    assert failed.amount == Decimal("9999999990.00")


@pytest.mark.parametrize("first_price", ["10.00", "6000.00"], ids=["succeeded", "declined"])
def test_second_order_confirmed_for_a_charged_order_charges_nothing_more(first_price):
    order = order_confirmed(first_price, 1)
    services.charge_payment(order=order)
    status = payment_of(order).status

    again = order_confirmed("1.00", 1, order_id=order.order_id, order_number=order.order_number)
    assert services.charge_payment(order=again) is None

    assert Payment.objects.filter(order_number=order.order_number).count() == 1
    assert (payment_of(order).status, payment_of(order).amount) == (status, Decimal(first_price))
    assert OutboxMessage.objects.filter(key=str(order.order_number)).count() == 1


# -- refunding ------------------------------------------------------------------------------


def test_refund_marks_the_charge_refunded_and_queues_payment_refunded():
    order = order_confirmed("19.99", 3)
    services.charge_payment(order=order)

    services.refund_payment(order_number=order.order_number, reason="parcel too large")

    payment = payment_of(order)
    assert (payment.status, payment.refund_reason) == (PaymentStatus.REFUNDED, "parcel too large")
    assert payment.refunded_at is not None
    [refunded] = outbox_events(PaymentRefundedEvent, order.order_number)
    assert (refunded.order_id, refunded.amount, refunded.reason) == (
        order.order_id,
        Decimal("59.97"),
        "parcel too large",
    )


def test_refund_twice_refunds_once():
    order = order_confirmed("19.99", 3)
    services.charge_payment(order=order)
    services.refund_payment(order_number=order.order_number, reason="first")
    refunded_at = payment_of(order).refunded_at

    assert services.refund_payment(order_number=order.order_number, reason="again") is None

    payment = payment_of(order)
    assert (payment.refund_reason, payment.refunded_at) == ("first", refunded_at)
    assert len(outbox_events(PaymentRefundedEvent, order.order_number)) == 1


@pytest.mark.parametrize("reason", ["lost\x00", "lost\ud800"], ids=["nul", "surrogate"])
def test_refund_with_a_reason_postgresql_cannot_store_still_refunds(reason):
    order = order_confirmed("19.99", 3)
    services.charge_payment(order=order)

    services.refund_payment(order_number=order.order_number, reason=reason)

    payment = payment_of(order)
    assert (payment.status, payment.refund_reason) == (PaymentStatus.REFUNDED, "lost\ufffd")
    [refunded] = outbox_events(PaymentRefundedEvent, order.order_number)
    assert refunded.reason == "lost\ufffd"


def test_refund_without_a_charge_changes_nothing_and_queues_nothing():
    stranger = uuid.uuid4()

    assert services.refund_payment(order_number=stranger, reason="parcel too large") is None

    assert not Payment.objects.exists()
    assert not OutboxMessage.objects.filter(key=str(stranger)).exists()


def test_refund_of_a_declined_charge_changes_nothing_and_queues_nothing():
    order = order_confirmed("6000.00", 1)
    services.charge_payment(order=order)

    assert services.refund_payment(order_number=order.order_number, reason="x") is None

    payment = payment_of(order)
    assert (payment.status, payment.refunded_at, payment.refund_reason) == (
        PaymentStatus.DECLINED,
        None,
        "",
    )
    assert not outbox_events(PaymentRefundedEvent, order.order_number)


# -- the database's own rules ---------------------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        {"status": PaymentStatus.REFUNDED},
        {"refunded_at": timezone.now()},
        {"amount": Decimal("0.00")},
        {"status": "LOST"},
    ],
    ids=["refunded-without-time", "time-without-refund", "zero-amount", "unknown-status"],
)
def test_database_rejects_an_inconsistent_payment(change):
    order = order_confirmed("10.00", 1)
    services.charge_payment(order=order)

    with pytest.raises(IntegrityError), transaction.atomic():
        Payment.objects.filter(order_number=order.order_number).update(**change)

    assert payment_of(order).status == PaymentStatus.SUCCEEDED


# -- concurrency ----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicate_refunds_refund_once():
    order = order_confirmed("19.99", 3)
    services.charge_payment(order=order)

    results = run_at_once(
        *[
            lambda: services.refund_payment(order_number=order.order_number, reason="r")
            for _ in range(2)
        ]
    )

    assert sorted(isinstance(r, Payment) for r in results) == [False, True]
    assert [r for r in results if not isinstance(r, Payment)] == [None]
    assert payment_of(order).status == PaymentStatus.REFUNDED
    assert len(outbox_events(PaymentRefundedEvent, order.order_number)) == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_order_confirmed_for_one_order_charges_once():
    order = order_confirmed("19.99", 3)
    again = order_confirmed("19.99", 3, order_id=order.order_id, order_number=order.order_number)

    results = run_at_once(
        lambda: services.charge_payment(order=order), lambda: services.charge_payment(order=again)
    )

    # The loser's insert waited for the winner's commit, then found its row: no error.
    assert sorted(isinstance(r, Payment) for r in results) == [False, True]
    assert [r for r in results if not isinstance(r, Payment)] == [None]
    assert Payment.objects.filter(order_number=order.order_number).count() == 1
    assert OutboxMessage.objects.filter(key=str(order.order_number)).count() == 1
