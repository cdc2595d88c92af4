"""The admin as a superuser: shipments are shown, never added, changed or deleted."""

import pytest

from shipments import services
from shipments.models import Shipment, ShipmentStatus
from shipments.tests.conftest import order_paid

pytestmark = pytest.mark.django_db

SHIPMENTS = "/admin/shipments/shipment/"


@pytest.fixture
def shipments() -> dict[str, Shipment]:
    """One shipped and one rejected shipment, by status."""
    orders = {"SHIPPED": order_paid(2), "REJECTED": order_paid(60)}
    for order in orders.values():
        services.ship_order(order=order)
    return {s: Shipment.objects.get(order_number=o.order_number) for s, o in orders.items()}


def listed(response) -> list:
    assert response.status_code == 200
    return list(response.context["cl"].result_list)


def test_shipment_changelist_and_change_page_load(admin_client, shipments):
    assert {s.pk for s in listed(admin_client.get(SHIPMENTS))} == {s.pk for s in shipments.values()}
    for shipment in shipments.values():
        response = admin_client.get(f"{SHIPMENTS}{shipment.pk}/change/")
        assert response.status_code == 200
        assert str(shipment.order_number) in response.content.decode()


@pytest.mark.parametrize("status", ShipmentStatus.values)
def test_shipment_changelist_filters_by_status(admin_client, shipments, status):
    found = listed(admin_client.get(SHIPMENTS, {"status__exact": status}))

    assert [s.pk for s in found] == [shipments[status].pk]


def test_shipment_changelist_searches_by_tracking_number(admin_client, shipments):
    wanted = shipments["SHIPPED"]

    found = listed(admin_client.get(SHIPMENTS, {"q": wanted.tracking_number}))

    assert [s.pk for s in found] == [wanted.pk]


def test_shipments_cannot_be_added(admin_client, shipments):
    assert admin_client.get(f"{SHIPMENTS}add/").status_code == 403
    assert admin_client.post(f"{SHIPMENTS}add/", {"status": "SHIPPED"}).status_code == 403

    assert Shipment.objects.count() == 2


def test_posting_to_a_shipment_change_page_changes_nothing(admin_client, shipments):
    shipment = shipments["REJECTED"]

    response = admin_client.post(
        f"{SHIPMENTS}{shipment.pk}/change/",
        {"status": "SHIPPED", "tracking_number": "TRK-FORGED", "order_id": shipment.order_id},
    )

    assert response.status_code == 403
    shipment.refresh_from_db()
    assert (shipment.status, shipment.tracking_number) == ("REJECTED", "")


def test_shipments_cannot_be_deleted(admin_client, shipments):
    shipment = shipments["SHIPPED"]

    response = admin_client.post(f"{SHIPMENTS}{shipment.pk}/delete/", {"post": "yes"})

    assert response.status_code == 403
    assert Shipment.objects.filter(pk=shipment.pk).exists()
