from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from orders.models import Order, OrderStatus
from orders.selectors import order_status, order_with_history

pytestmark = pytest.mark.django_db


def test_order_with_history_reads_the_order_and_its_lines_oldest_first_in_one_statement(
    order_in, api_user
):
    order = order_in(OrderStatus.SHIPPED)

    with CaptureQueriesContext(connection) as queries:
        read = order_with_history(order_id=order.id, user=api_user)

    assert len(queries) == 1
    assert (read.id, read.order_number, read.status, read.price, read.updated_at) == (
        order.id,
        order.order_number,
        OrderStatus.SHIPPED,
        order.price,
        order.updated_at,
    )
    assert [line.to_status for line in read.history_lines] == [
        OrderStatus.PENDING,
        OrderStatus.CONFIRMED,
        OrderStatus.PAID,
        OrderStatus.SHIPPED,
    ]
    assert read.history_lines == list(order.history.all())


def test_order_with_history_of_an_order_without_lines_has_none(api_user):
    order = Order.objects.create(
        owner=api_user,
        sku_code="SKU-1",
        price=Decimal("1.00"),
        quantity=1,
        deadline_at=timezone.now(),
    )

    assert order_with_history(order_id=order.id, user=api_user).history_lines == []


def test_another_customers_order_is_not_there_for_them_but_is_for_staff(
    place_order, django_user_model, staff_user
):
    order = place_order()
    stranger = django_user_model.objects.create_user(username="stranger")

    assert order_with_history(order_id=order.id, user=stranger) is None
    assert order_status(order_id=order.id, user=stranger) is None
    assert order_with_history(order_id=order.id, user=staff_user).id == order.id
    assert order_status(order_id=order.id, user=staff_user) == OrderStatus.PENDING


def test_an_order_that_does_not_exist_is_none(api_user):
    assert order_with_history(order_id=987654, user=api_user) is None
    assert order_status(order_id=987654, user=api_user) is None
