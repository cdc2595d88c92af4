"""The order admin: orders and their history can be found and read, never changed by hand."""

from datetime import timedelta

import pytest
from django.utils import timezone

from orders.models import Compensation, Order, OrderHistory, OrderStatus

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/orders/order/"


def listed(response) -> set[str]:
    """The order numbers on a changelist page."""
    assert response.status_code == 200
    return {str(o.order_number) for o in response.context["cl"].result_list}


def test_the_changelist_lists_every_order(admin_client, place_order):
    orders = [place_order(sku_code=f"SKU-{n}") for n in range(3)]

    response = admin_client.get(CHANGELIST)

    assert listed(response) == {str(o.order_number) for o in orders}
    assert str(orders[0].order_number) in response.content.decode()


def test_an_orders_page_shows_it_with_its_history(admin_client, order_in):
    order = order_in(OrderStatus.PAID, sku_code="SKU-ADMIN")

    response = admin_client.get(f"{CHANGELIST}{order.pk}/change/")

    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="history-group"' in html
    assert "SKU-ADMIN" in html
    for line in order.history.all():
        assert str(line.event_id) in html
        assert line.event_type in html


def test_orders_are_found_by_order_number_and_by_sku(admin_client, place_order):
    wanted = place_order(sku_code="SKU-BLUE")
    other = place_order(sku_code="SKU-RED")

    by_number = admin_client.get(CHANGELIST, {"q": str(wanted.order_number)})
    by_sku = admin_client.get(CHANGELIST, {"q": "red"})

    assert listed(by_number) == {str(wanted.order_number)}
    assert listed(by_sku) == {str(other.order_number)}


def test_orders_are_filtered_by_status(admin_client, order_in):
    paid = order_in(OrderStatus.PAID)
    order_in(OrderStatus.PENDING)
    order_in(OrderStatus.FAILED)

    response = admin_client.get(CHANGELIST, {"status__exact": OrderStatus.PAID})

    assert listed(response) == {str(paid.order_number)}


def test_orders_cannot_be_added_by_hand(admin_client):
    assert admin_client.get(f"{CHANGELIST}add/").status_code == 403
    response = admin_client.post(
        f"{CHANGELIST}add/", {"sku_code": "SKU-1", "price": "1.00", "quantity": 1}
    )

    assert response.status_code == 403
    assert not Order.objects.exists()


def test_an_order_cannot_be_edited_by_hand(admin_client, order_in):
    order = order_in(OrderStatus.CONFIRMED)
    page = admin_client.get(f"{CHANGELIST}{order.pk}/change/")
    history = list(OrderHistory.objects.values_list("id", "to_status"))

    response = admin_client.post(
        f"{CHANGELIST}{order.pk}/change/",
        {
            "sku_code": "SKU-HACKED",
            "price": "0.01",
            "quantity": 999,
            "status": OrderStatus.SHIPPED,
            "history-TOTAL_FORMS": "0",
            "history-INITIAL_FORMS": "0",
        },
    )

    assert 'name="_save"' not in page.content.decode()  # read-only: no save button
    assert response.status_code == 403
    stored = Order.objects.get(pk=order.pk)
    assert (stored.sku_code, stored.price, stored.quantity, stored.status, stored.updated_at) == (
        order.sku_code,
        order.price,
        order.quantity,
        OrderStatus.CONFIRMED,
        order.updated_at,
    )
    assert list(OrderHistory.objects.values_list("id", "to_status")) == history


def test_an_order_cannot_be_deleted_by_hand(admin_client, place_order):
    order = place_order()

    assert "delete_selected" not in admin_client.get(CHANGELIST).content.decode()
    assert admin_client.get(f"{CHANGELIST}{order.pk}/delete/").status_code == 403
    assert admin_client.post(f"{CHANGELIST}{order.pk}/delete/", {"post": "yes"}).status_code == 403
    bulk = admin_client.post(
        CHANGELIST, {"action": "delete_selected", "_selected_action": [order.pk], "post": "yes"}
    )

    assert bulk.status_code in (200, 302)
    assert Order.objects.filter(pk=order.pk).exists()
    assert order.history.exists()


def test_the_overdue_filter_shows_open_sagas_and_compensations_past_their_deadline(
    admin_client, order_in
):
    past = timezone.now() - timedelta(seconds=1)
    pending, paid, shipped = (
        order_in(s) for s in (OrderStatus.PENDING, OrderStatus.PAID, OrderStatus.SHIPPED)
    )
    compensating = order_in(OrderStatus.SHIPMENT_FAILED)
    order_in(OrderStatus.CONFIRMED)  # open, but not overdue
    Order.objects.filter(pk__in=[pending.pk, paid.pk, shipped.pk, compensating.pk]).update(
        deadline_at=past
    )
    Order.objects.filter(pk=compensating.pk).update(compensation=Compensation.FAILED)

    response = admin_client.get(CHANGELIST, {"overdue": "yes"})

    assert listed(response) == {str(o.order_number) for o in (pending, paid, compensating)}
