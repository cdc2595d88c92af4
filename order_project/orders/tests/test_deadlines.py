"""Saga deadlines and compensation tracking (orders.services.expire_saga, ADR 0011), against
the real database: what a passed deadline does in each state, what late events do afterwards,
and how an order learns that its compensation was or was not applied."""

from datetime import timedelta

import pytest
from django.utils import timezone

from orders import services
from orders.handlers import HANDLERS
from orders.models import Compensation, Order, OrderStatus
from orders.tests.conftest import incoming, sample
from saga_events import (
    InventoryReleasedEvent,
    InventoryReservedEvent,
    OrderFailedEvent,
    PaymentFailedEvent,
    PaymentRefundedEvent,
    PaymentSucceededEvent,
    ShipmentFailedEvent,
    ShipmentShippedEvent,
)
from saga_runtime.models import OutboxMessage
from saga_runtime.testing import outbox_events, run_at_once

pytestmark = pytest.mark.django_db

S = OrderStatus


def past_deadline(order: Order) -> timezone.datetime:
    order.refresh_from_db()
    return order.deadline_at + timedelta(seconds=1)


def expire(order: Order, commits) -> Order:
    """Run the sweep as the worker would, just after ``order``'s deadline, callbacks committed."""
    with commits(execute=True):
        assert services.expire_overdue_sagas(now=past_deadline(order)) == 1
    order.refresh_from_db()
    return order


def deliver(event_class, order: Order, **fields) -> None:
    HANDLERS[event_class](incoming(event_class, order, **fields))


def last_line(order: Order):
    return order.history.order_by("id").last()


@pytest.fixture
def commits(django_capture_on_commit_callbacks):
    return django_capture_on_commit_callbacks


def test_an_order_gets_its_deadline_when_placed(place_order, settings):
    settings.SAGA_DEADLINE_SECONDS = 120
    before = timezone.now()

    order = place_order()

    assert (
        before + timedelta(seconds=120)
        <= order.deadline_at
        <= timezone.now() + timedelta(seconds=120)
    )


def test_nothing_expires_before_its_deadline(order_in):
    pending, confirmed, paid = order_in(S.PENDING), order_in(S.CONFIRMED), order_in(S.PAID)
    earliest = min(order.deadline_at for order in (pending, confirmed, paid))

    assert services.expire_overdue_sagas(now=earliest - timedelta(seconds=1)) == 0
    assert [Order.objects.get(pk=o.pk).status for o in (pending, confirmed, paid)] == [
        S.PENDING,
        S.CONFIRMED,
        S.PAID,
    ]


def test_a_pending_order_past_its_deadline_fails_and_tells_inventory(order_in, commits):
    order = order_in(S.PENDING)
    expired = sample("saga_expired_total", from_status="PENDING")

    order = expire(order, commits)

    assert order.status == S.FAILED
    assert order.failure_reason == "inventory did not answer within 300 s (saga deadline)"
    assert order.expired_at is not None and order.compensation == Compensation.NONE
    line = last_line(order)
    assert (line.from_status, line.to_status, line.event_type) == (
        S.PENDING,
        S.FAILED,
        "SagaDeadline",
    )
    [failed] = outbox_events(OrderFailedEvent, order.order_number)
    assert (failed.reserved_quantity, failed.reason) == (0, order.failure_reason)
    assert sample("saga_expired_total", from_status="PENDING") == expired + 1


def test_a_confirmed_order_past_its_deadline_ends_payment_failed_and_asks_to_undo_both(
    order_in, commits
):
    order = order_in(S.CONFIRMED, quantity=3)

    order = expire(order, commits)

    assert order.status == S.PAYMENT_FAILED
    assert order.failure_reason == "payment did not answer within 300 s (saga deadline)"
    # The reserved quantity tells payment the order had asked to be charged (ADR 0011).
    [failed] = outbox_events(OrderFailedEvent, order.order_number)
    assert failed.reserved_quantity == 3
    # The release it asked for has a deadline of its own.
    assert order.compensation == Compensation.PENDING
    assert order.deadline_at > timezone.now()


def test_a_paid_order_past_its_deadline_waits_for_the_carrier_and_is_marked_once(order_in, commits):
    order = order_in(S.PAID)
    expired = sample("saga_expired_total", from_status="PAID")

    order = expire(order, commits)

    assert (order.status, order.compensation) == (S.PAID, Compensation.NONE)
    assert order.expired_at is not None
    line = last_line(order)
    assert (line.from_status, line.to_status, line.event_type) == (S.PAID, S.PAID, "SagaDeadline")
    assert "waiting for the carrier" in line.reason
    assert outbox_events(OrderFailedEvent, order.order_number) == []
    # Marked once: later sweeps leave it alone, and the carrier's answer still ends it.
    later = order.deadline_at + timedelta(hours=1)
    assert services.expire_overdue_sagas(now=later) == 0
    deliver(ShipmentShippedEvent, order)
    order.refresh_from_db()
    assert order.status == S.SHIPPED
    assert sample("saga_expired_total", from_status="PAID") == expired + 1


@pytest.mark.parametrize("status", [S.SHIPPED, S.FAILED])
def test_an_ended_order_that_needs_no_compensation_never_expires(order_in, status):
    order = order_in(status)

    assert services.expire_overdue_sagas(now=order.deadline_at + timedelta(days=1)) == 0
    assert Order.objects.get(pk=order.pk).expired_at is None


@pytest.mark.parametrize(
    "late_event", [InventoryReservedEvent, PaymentSucceededEvent, PaymentFailedEvent]
)
def test_an_answer_after_the_deadline_changes_nothing(order_in, commits, late_event):
    status = S.PENDING if late_event is InventoryReservedEvent else S.CONFIRMED
    order = expire(order_in(status), commits)
    published = OutboxMessage.objects.filter(key=str(order.order_number))
    before = (order.status, order.failure_reason, order.history.count(), published.count())

    deliver(late_event, order)

    order.refresh_from_db()
    assert (order.status, order.failure_reason, order.history.count(), published.count()) == before


def test_a_refund_after_a_late_charge_is_recorded_on_the_expired_order(order_in, commits):
    order = expire(order_in(S.CONFIRMED), commits)

    deliver(PaymentRefundedEvent, order, reason="payment did not answer within 300 s")

    line = last_line(order)
    assert (line.event_type, line.to_status) == ("PaymentRefundedEvent", S.PAYMENT_FAILED)
    assert line.reason.startswith(f"refunded {order.amount}")


@pytest.mark.django_db(transaction=True)
def test_two_workers_sweeping_at_once_expire_an_order_once(order_in):
    order = order_in(S.PENDING)
    now = past_deadline(order)

    results = run_at_once(
        lambda: services.expire_overdue_sagas(now=now),
        lambda: services.expire_overdue_sagas(now=now),
    )

    assert sorted(results) == [0, 1]
    order.refresh_from_db()
    assert order.history.filter(event_type="SagaDeadline").count() == 1
    assert len(outbox_events(OrderFailedEvent, order.order_number)) == 1


# -- compensation ----------------------------------------------------------------------------


def test_a_failed_shipment_waits_for_both_release_and_refund(order_in):
    order = order_in(S.SHIPMENT_FAILED)
    assert order.compensation == Compensation.PENDING

    deliver(PaymentRefundedEvent, order)
    order.refresh_from_db()
    assert order.compensation == Compensation.PENDING

    deliver(InventoryReleasedEvent, order)
    order.refresh_from_db()
    assert order.compensation == Compensation.DONE
    assert [line.event_type for line in order.history.order_by("id")][-2:] == [
        "PaymentRefundedEvent",
        "InventoryReleasedEvent",
    ]


def test_a_declined_payment_waits_for_the_release_only(order_in):
    order = order_in(S.PAYMENT_FAILED)
    assert order.compensation == Compensation.PENDING

    deliver(InventoryReleasedEvent, order)

    order.refresh_from_db()
    assert order.compensation == Compensation.DONE


def test_a_release_that_comes_before_payment_failed_counts(order_in):
    # Inventory releases on payment's PaymentFailed, which may reach it before the order.
    order = order_in(S.CONFIRMED)
    deliver(InventoryReleasedEvent, order)

    deliver(PaymentFailedEvent, order)

    order.refresh_from_db()
    assert (order.status, order.compensation) == (S.PAYMENT_FAILED, Compensation.DONE)


def test_a_compensation_not_confirmed_by_its_deadline_is_marked_failed_and_counted(
    order_in, commits
):
    order = order_in(S.SHIPMENT_FAILED)
    deliver(InventoryReleasedEvent, order)
    failed = sample("saga_compensation_failed_total", step="refund")

    order = expire(order, commits)

    assert (order.status, order.compensation) == (S.SHIPMENT_FAILED, Compensation.FAILED)
    line = last_line(order)
    assert (line.event_type, line.reason) == (
        "SagaDeadline",
        "compensation failed: no refund confirmed within 300 s",
    )
    assert sample("saga_compensation_failed_total", step="refund") == failed + 1


def test_a_confirmation_after_the_compensation_failed_completes_it(order_in, commits):
    # What replaying the dead-lettered refund leads to.
    order = expire(order_in(S.SHIPMENT_FAILED), commits)
    assert order.compensation == Compensation.FAILED
    late = sample("saga_compensation_completed_late_total")

    with commits(execute=True):
        deliver(InventoryReleasedEvent, order)
        deliver(PaymentRefundedEvent, order)

    order.refresh_from_db()
    assert order.compensation == Compensation.DONE
    assert sample("saga_compensation_completed_late_total") == late + 1
    assert services.expire_overdue_sagas(now=order.deadline_at + timedelta(days=1)) == 0


def test_a_repeated_confirmation_is_recorded_once(order_in):
    order = order_in(S.PAYMENT_FAILED)

    deliver(InventoryReleasedEvent, order)
    deliver(InventoryReleasedEvent, order)

    assert order.history.filter(event_type="InventoryReleasedEvent").count() == 1


def test_a_shipment_failed_after_the_paid_deadline_still_compensates(order_in, commits):
    order = expire(order_in(S.PAID), commits)

    deliver(ShipmentFailedEvent, order)

    order.refresh_from_db()
    assert (order.status, order.compensation) == (S.SHIPMENT_FAILED, Compensation.PENDING)
