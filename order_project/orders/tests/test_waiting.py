"""The database tells the waiting requests that an order ended (migration 0004's trigger)."""

import pytest
from django.db import transaction

from orders.models import Order, OrderStatus
from orders.waiting import ORDER_ENDED
from saga_runtime.listen import listen

pytestmark = pytest.mark.django_db(transaction=True)


def ended(listener) -> list[str]:
    return [notify.payload for notify in listener.notifies(timeout=0.5)]


def test_an_order_moved_to_a_terminal_status_by_any_writer_notifies_its_end(order_in):
    order = order_in(OrderStatus.PAID)

    with listen(ORDER_ENDED) as listener:
        Order.objects.filter(pk=order.pk).update(status=OrderStatus.SHIPPED)

        assert ended(listener) == [str(order.id)]


def test_a_change_that_does_not_end_the_order_notifies_nothing(order_in):
    order = order_in(OrderStatus.PENDING)

    with listen(ORDER_ENDED) as listener:
        Order.objects.filter(pk=order.pk).update(status=OrderStatus.CONFIRMED)
        Order.objects.filter(pk=order.pk).update(failure_reason="a note")

        assert ended(listener) == []


def test_an_end_rolled_back_notifies_nothing(order_in):
    order = order_in(OrderStatus.CONFIRMED)

    with listen(ORDER_ENDED) as listener:
        with pytest.raises(RuntimeError), transaction.atomic():
            Order.objects.filter(pk=order.pk).update(status=OrderStatus.PAYMENT_FAILED)
            raise RuntimeError("rolled back")

        assert ended(listener) == []
