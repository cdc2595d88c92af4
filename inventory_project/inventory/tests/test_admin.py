"""The admin as a superuser: stock is only ever added to, reservations are read-only."""

import pytest

from inventory import services
from inventory.models import MAX_STOCK, Reservation, Stock
from inventory.tests.conftest import new_sku, order_placed, stock_of

pytestmark = pytest.mark.django_db

STOCK = "/admin/inventory/stock/"
RESERVATIONS = "/admin/inventory/reservation/"


@pytest.fixture
def reservations():
    """One held and one rejected reservation: (held, rejected)."""
    sku = new_sku()
    services.add_stock(sku_code=sku, quantity=5)
    held = services.reserve_stock(order=order_placed(sku, 3))
    rejected = services.reserve_stock(order=order_placed(sku, 9))
    return held, rejected


def listed(response) -> list:
    assert response.status_code == 200
    return list(response.context["cl"].result_list)


# -- stock ----------------------------------------------------------------------------------


def test_adding_stock_in_the_admin_creates_the_sku_through_add_stock(admin_client):
    sku = new_sku()

    response = admin_client.post(f"{STOCK}add/", {"sku_code": sku, "add_quantity": 12})

    assert response.status_code == 302
    stock = stock_of(sku)
    assert (stock.available, stock.reserved, stock.shipped, stock.total_added) == (12, 0, 0, 12)


def test_the_add_form_refuses_an_existing_sku_and_leaves_its_stock(admin_client):
    sku = new_sku()
    services.add_stock(sku_code=sku, quantity=10)

    response = admin_client.post(f"{STOCK}add/", {"sku_code": sku, "add_quantity": 5})

    assert "sku_code" in response.context["adminform"].form.errors
    assert stock_of(sku).total_added == 10


def test_changing_stock_in_the_admin_adds_the_quantity(admin_client):
    sku = new_sku()
    stock, _ = services.add_stock(sku_code=sku, quantity=10)
    services.reserve_stock(order=order_placed(sku, 4))

    response = admin_client.post(f"{STOCK}{stock.pk}/change/", {"add_quantity": 5})

    assert response.status_code == 302
    stock.refresh_from_db()
    assert (stock.available, stock.reserved, stock.total_added) == (11, 4, 15)


def test_the_admin_cannot_set_the_counts_directly(admin_client):
    stock, _ = services.add_stock(sku_code=new_sku(), quantity=10)

    admin_client.post(
        f"{STOCK}{stock.pk}/change/",
        {"add_quantity": 0, "available": 999, "total_added": 999, "sku_code": "RENAMED"},
    )

    stock.refresh_from_db()
    assert (stock.available, stock.total_added) == (10, 10)
    assert stock.sku_code != "RENAMED"


def test_adding_stock_beyond_the_column_limit_shows_an_error_and_changes_nothing(admin_client):
    stock, _ = services.add_stock(sku_code=new_sku(), quantity=MAX_STOCK - 1)

    response = admin_client.post(f"{STOCK}{stock.pk}/change/", {"add_quantity": 2})

    assert response.status_code == 200
    assert "add_quantity" in response.context["adminform"].form.errors
    stock.refresh_from_db()
    assert stock.total_added == MAX_STOCK - 1


def test_adding_a_negative_quantity_is_refused(admin_client):
    stock, _ = services.add_stock(sku_code=new_sku(), quantity=10)

    response = admin_client.post(f"{STOCK}{stock.pk}/change/", {"add_quantity": -3})

    assert "add_quantity" in response.context["adminform"].form.errors
    stock.refresh_from_db()
    assert stock.available == 10


def test_stock_cannot_be_deleted(admin_client):
    stock, _ = services.add_stock(sku_code=new_sku(), quantity=10)

    assert admin_client.post(f"{STOCK}{stock.pk}/delete/", {"post": "yes"}).status_code == 403

    assert Stock.objects.filter(pk=stock.pk).exists()


def test_stock_changelist_searches_by_sku(admin_client):
    wanted, other = new_sku(), new_sku()
    services.add_stock(sku_code=wanted, quantity=1)
    services.add_stock(sku_code=other, quantity=1)

    found = listed(admin_client.get(STOCK, {"q": wanted[4:]}))

    assert [s.sku_code for s in found] == [wanted]


def test_stock_change_page_loads(admin_client):
    stock, _ = services.add_stock(sku_code=new_sku(), quantity=3)

    response = admin_client.get(f"{STOCK}{stock.pk}/change/")

    assert response.status_code == 200
    assert stock.sku_code in response.content.decode()


# -- reservations ---------------------------------------------------------------------------


def test_reservation_changelist_and_change_page_load(admin_client, reservations):
    held, rejected = reservations

    assert {r.pk for r in listed(admin_client.get(RESERVATIONS))} == {held.pk, rejected.pk}
    response = admin_client.get(f"{RESERVATIONS}{held.pk}/change/")
    assert response.status_code == 200
    assert str(held.order_number) in response.content.decode()


@pytest.mark.parametrize("status", ["HELD", "REJECTED"])
def test_reservation_changelist_filters_by_status(admin_client, reservations, status):
    found = listed(admin_client.get(RESERVATIONS, {"status__exact": status}))

    assert [r.pk for r in found] == [r.pk for r in reservations if r.status == status]


def test_reservation_changelist_searches_by_order_number(admin_client, reservations):
    held, _ = reservations

    found = listed(admin_client.get(RESERVATIONS, {"q": str(held.order_number)}))

    assert [r.pk for r in found] == [held.pk]


def test_reservations_cannot_be_added(admin_client, reservations):
    assert admin_client.get(f"{RESERVATIONS}add/").status_code == 403
    assert Reservation.objects.count() == 2


def test_posting_to_a_reservation_change_page_changes_nothing(admin_client, reservations):
    held, _ = reservations

    response = admin_client.post(
        f"{RESERVATIONS}{held.pk}/change/", {"status": "RELEASED", "quantity": 1}
    )

    assert response.status_code == 403
    held.refresh_from_db()
    assert (held.status, held.quantity) == ("HELD", 3)


def test_reservations_cannot_be_deleted(admin_client, reservations):
    held, _ = reservations

    assert admin_client.post(f"{RESERVATIONS}{held.pk}/delete/", {"post": "yes"}).status_code == 403

    assert Reservation.objects.filter(pk=held.pk).exists()
