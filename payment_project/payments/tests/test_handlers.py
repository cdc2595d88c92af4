"""The payment worker through the real broker: an event in, rows in PostgreSQL, an event out."""

import uuid
from decimal import Decimal

import pytest
from prometheus_client import REGISTRY

from payments.models import Payment, PaymentStatus
from payments.tests.conftest import order_confirmed, order_shipment_failed
from saga_events import (
    OrderShipmentFailedEvent,
    PaymentFailedEvent,
    PaymentRefundedEvent,
    PaymentSucceededEvent,
)
from saga_runtime.models import OutboxMessage
from saga_runtime.testing import run_worker_until
from saga_runtime.worker import Outcome

pytestmark = pytest.mark.django_db(transaction=True)


def payment_of(order) -> Payment | None:
    return Payment.objects.filter(order_number=order.order_number).first()


@pytest.fixture
def charged(kafka, saga_worker):
    """An order charged 59.97 through the broker."""
    order = order_confirmed("19.99", 3)
    kafka.send_event(order)
    run_worker_until(saga_worker, lambda: payment_of(order))
    return order


# -- OrderConfirmed -------------------------------------------------------------------------


def test_order_confirmed_charges_price_times_quantity_and_publishes_payment_succeeded(
    kafka, saga_worker, relay, published
):
    order = order_confirmed("0.10", 3)

    kafka.send_event(order)
    run_worker_until(saga_worker, lambda: payment_of(order))
    relay.publish_all()

    payment = payment_of(order)
    assert (payment.status, payment.amount) == (PaymentStatus.SUCCEEDED, Decimal("0.30"))
    [succeeded] = published(PaymentSucceededEvent, order.order_number)
    assert isinstance(succeeded.amount, Decimal)
    assert succeeded.amount == Decimal("0.30")
    assert succeeded.order_id == order.order_id
    assert published(PaymentFailedEvent, order.order_number) == []


def test_order_confirmed_over_the_limit_is_declined_with_payment_failed(
    kafka, saga_worker, relay, published, decisions
):
    decisions.PAYMENT_DECLINE_ABOVE = Decimal("100.00")
    order = order_confirmed("50.01", 2)

    kafka.send_event(order)
    run_worker_until(saga_worker, lambda: payment_of(order))
    relay.publish_all()

    payment = payment_of(order)
    assert (payment.status, payment.amount) == (PaymentStatus.DECLINED, Decimal("100.02"))
    [failed] = published(PaymentFailedEvent, order.order_number)
    assert failed.amount == Decimal("100.02")
    assert failed.reason == payment.reason == "amount 100.02 exceeds the limit of 100.00"
    assert published(PaymentSucceededEvent, order.order_number) == []


def test_order_confirmed_delivered_twice_charges_once_and_publishes_once(
    kafka, outcomes_of, relay, published
):
    order = order_confirmed("19.99", 3)

    kafka.send_event(order)
    kafka.send_event(order)
    assert outcomes_of(order.order_number, count=2) == [Outcome.HANDLED, Outcome.DUPLICATE]
    relay.publish_all()

    assert Payment.objects.filter(order_number=order.order_number).count() == 1
    assert [e.amount for e in published(PaymentSucceededEvent, order.order_number)] == [
        Decimal("59.97")
    ]


def test_second_order_confirmed_with_a_new_event_id_charges_once_and_publishes_once(
    kafka, outcomes_of, relay, published
):
    order = order_confirmed("19.99", 3)
    again = order_confirmed("19.99", 3, order_id=order.order_id, order_number=order.order_number)

    kafka.send_event(order)
    kafka.send_event(again)
    assert outcomes_of(order.order_number, count=2) == [Outcome.HANDLED, Outcome.HANDLED]
    relay.publish_all()

    assert Payment.objects.filter(order_number=order.order_number).count() == 1
    assert len(published(PaymentSucceededEvent, order.order_number)) == 1


# -- refunds --------------------------------------------------------------------------------


def test_order_shipment_failed_refunds_the_charge_and_publishes_payment_refunded(
    kafka, saga_worker, relay, published, charged
):
    kafka.send_event(order_shipment_failed(charged, "parcel too large"))
    run_worker_until(saga_worker, lambda: payment_of(charged).status == PaymentStatus.REFUNDED)
    relay.publish_all()

    payment = payment_of(charged)
    assert (payment.refund_reason, payment.amount) == ("parcel too large", Decimal("59.97"))
    assert payment.refunded_at is not None
    [refunded] = published(PaymentRefundedEvent, charged.order_number)
    assert (refunded.order_id, refunded.amount, refunded.reason) == (
        charged.order_id,
        Decimal("59.97"),
        "parcel too large",
    )


@pytest.mark.parametrize("same_event_id", [True, False], ids=["same-event", "new-event-id"])
def test_order_shipment_failed_delivered_twice_refunds_once_and_publishes_once(
    kafka, outcomes_of, relay, published, charged, same_event_id
):
    first = order_shipment_failed(charged)
    second = first if same_event_id else order_shipment_failed(charged)

    kafka.send_event(first)
    kafka.send_event(second)
    expected = [Outcome.HANDLED, Outcome.DUPLICATE if same_event_id else Outcome.HANDLED]
    assert outcomes_of(charged.order_number, count=2) == expected
    relay.publish_all()

    assert Payment.objects.filter(order_number=charged.order_number).count() == 1
    assert payment_of(charged).status == PaymentStatus.REFUNDED
    assert len(published(PaymentRefundedEvent, charged.order_number)) == 1


def test_order_shipment_failed_with_a_nul_in_its_reason_still_refunds(
    kafka, saga_worker, relay, published, charged
):
    """A reason is free text from another service; PostgreSQL cannot store a NUL in it."""
    kafka.send_event(order_shipment_failed(charged, "crushed\x00parcel"))
    run_worker_until(saga_worker, lambda: payment_of(charged).status == PaymentStatus.REFUNDED)
    relay.publish_all()

    assert payment_of(charged).refund_reason == "crushed\ufffdparcel"
    [refunded] = published(PaymentRefundedEvent, charged.order_number)
    assert (refunded.amount, refunded.reason) == (Decimal("59.97"), "crushed\ufffdparcel")


def test_order_shipment_failed_without_a_charge_changes_nothing_and_publishes_nothing(
    kafka, outcomes_of, relay, published
):
    event = OrderShipmentFailedEvent.new(order_id=1, order_number=uuid.uuid4(), reason="lost")

    kafka.send_event(event)
    assert outcomes_of(event.order_number, count=1) == [Outcome.HANDLED]
    relay.publish_all()

    assert not Payment.objects.filter(order_number=event.order_number).exists()
    assert not OutboxMessage.objects.filter(key=str(event.order_number)).exists()
    assert published(PaymentRefundedEvent, event.order_number) == []


def test_order_shipment_failed_for_a_declined_charge_refunds_nothing(
    kafka, saga_worker, outcomes_of, relay, published
):
    declined = order_confirmed("6000.00", 1)
    kafka.send_event(declined)
    run_worker_until(saga_worker, lambda: payment_of(declined))

    kafka.send_event(order_shipment_failed(declined))
    assert outcomes_of(declined.order_number, count=1) == [Outcome.HANDLED]
    relay.publish_all()

    payment = payment_of(declined)
    assert (payment.status, payment.refunded_at) == (PaymentStatus.DECLINED, None)
    assert published(PaymentRefundedEvent, declined.order_number) == []
    assert len(published(PaymentFailedEvent, declined.order_number)) == 1


def test_order_confirmed_for_an_amount_no_column_holds_is_dead_lettered_at_once(kafka, outcomes_of):
    order = order_confirmed("9999999999.99", 2)
    topic = kafka.config.topic(type(order))
    retried = REGISTRY.get_sample_value(
        "saga_records_total", {"topic": topic, "outcome": "retried"}
    )

    kafka.send_event(order)

    assert outcomes_of(order.order_number, count=1) == [Outcome.DEAD_LETTERED]
    assert (
        REGISTRY.get_sample_value("saga_records_total", {"topic": topic, "outcome": "retried"})
        == retried
    )
    assert not Payment.objects.filter(order_number=order.order_number).exists()
    assert not OutboxMessage.objects.filter(key=str(order.order_number)).exists()
