"""What the order service tells operators: saga outcomes, ignored events, health, /metrics."""

import uuid

import pytest
from django.db import transaction
from django.utils import timezone

from orders import services
from orders.models import OrderStatus
from orders.tests.conftest import incoming, sample
from saga_events import (
    InventoryFailedEvent,
    InventoryReservedEvent,
    PaymentFailedEvent,
    PaymentSucceededEvent,
    ShipmentFailedEvent,
    ShipmentShippedEvent,
)

S = OrderStatus


def ended(status: str) -> tuple[float, float, float]:
    return (
        sample("saga_ended_total", status=status),
        sample("saga_duration_seconds_count", status=status),
        sample("saga_duration_seconds_sum", status=status),
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("before", "event_class", "terminal"),
    [
        (S.PENDING, InventoryFailedEvent, S.FAILED),
        (S.CONFIRMED, PaymentFailedEvent, S.PAYMENT_FAILED),
        (S.PAID, ShipmentShippedEvent, S.SHIPPED),
        (S.PAID, ShipmentFailedEvent, S.SHIPMENT_FAILED),
    ],
)
def test_a_terminal_transition_counts_the_saga_as_ended_with_its_duration(
    order_in, deliver, before, event_class, terminal
):
    order = order_in(before)
    count, observations, seconds = ended(terminal)

    deliver(incoming(event_class, order))
    age = (timezone.now() - order.created_at).total_seconds()

    assert ended(terminal)[:2] == (count + 1, observations + 1)
    assert 0 < ended(terminal)[2] - seconds <= age


@pytest.mark.django_db(transaction=True)
def test_a_step_that_does_not_end_the_saga_is_not_counted_as_an_end(order_in, deliver):
    order = order_in(S.PENDING)
    counts = [ended(status) for status in S]

    deliver(incoming(InventoryReservedEvent, order))
    deliver(incoming(PaymentSucceededEvent, order))

    assert [ended(status) for status in S] == counts


@pytest.mark.django_db(transaction=True)
def test_a_terminal_transition_that_rolls_back_is_not_counted(order_in):
    order = order_in(S.PAID)
    counts = ended(S.SHIPPED)

    with pytest.raises(RuntimeError), transaction.atomic():
        services.mark_order_shipped(
            order_number=order.order_number, cause=incoming(ShipmentShippedEvent, order)
        )
        raise RuntimeError("the record's transaction failed after the handler")

    order.refresh_from_db()
    assert order.status == S.PAID
    assert ended(S.SHIPPED) == counts


@pytest.mark.django_db(transaction=True)
def test_an_event_that_does_not_fit_is_counted_as_ignored_for_wrong_state(order_in, deliver):
    order = order_in(S.SHIPPED)
    ignored = sample("saga_ignored_events_total", reason="wrong_state")
    unknown = sample("saga_ignored_events_total", reason="unknown_order")

    deliver(incoming(InventoryReservedEvent, order))

    assert sample("saga_ignored_events_total", reason="wrong_state") == ignored + 1
    assert sample("saga_ignored_events_total", reason="unknown_order") == unknown


@pytest.mark.django_db
def test_the_process_is_live(client):
    response = client.get("/health/live")

    assert (response.status_code, response.json()) == (200, {"status": "live"})


@pytest.mark.django_db
def test_the_process_is_ready_while_its_database_answers(client):
    response = client.get("/health/ready")

    assert (response.status_code, response.json()) == (200, {"status": "ready"})


@pytest.mark.django_db
def test_metrics_are_exposed_for_prometheus(client):
    client.get(f"/api/orders?probe={uuid.uuid4()}")

    response = client.get("/metrics")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    assert "django_http_requests_total_by_method_total" in text
    assert "django_http_responses_total_by_status_total" in text
    assert "saga_ended_total" in text
