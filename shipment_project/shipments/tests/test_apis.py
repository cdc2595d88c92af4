"""The shipments API: newest first, filterable by order, and a JSON 4xx for every bad request."""

import pytest
from rest_framework.test import APIClient

from saga_runtime.testing import assert_error
from shipments import services
from shipments.models import Shipment
from shipments.tests.conftest import order_paid

pytestmark = pytest.mark.django_db

URL = "/api/shipments"


@pytest.fixture
def api(staff_token) -> APIClient:
    """Staff, who may do everything here (test_permissions.py covers everyone else)."""
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {staff_token}")
    return api


def ship(quantity: int | None, **fields) -> Shipment:
    order = order_paid(quantity, **fields)
    services.ship_order(order=order)
    return Shipment.objects.get(order_number=order.order_number)


def test_list_shows_shipments_newest_first(api):
    shipments = [ship(quantity) for quantity in (1, 2, 3)]

    body = api.get(URL).json()

    assert body["count"] == 3
    assert [s["id"] for s in body["results"]] == [s.id for s in reversed(shipments)]


def test_list_filters_by_order_id(api):
    wanted = ship(3)
    ship(4)

    [shown] = api.get(URL, {"orderId": wanted.order_id}).json()["results"]

    assert (shown["id"], shown["orderId"], shown["orderNumber"]) == (
        wanted.id,
        wanted.order_id,
        str(wanted.order_number),
    )
    assert (shown["status"], shown["quantity"], shown["skuCode"]) == ("SHIPPED", 3, "SKU-1")
    assert shown["trackingNumber"] == wanted.tracking_number


def test_list_filtered_by_an_order_without_shipments_is_empty(api):
    ship(1, order_id=1)

    assert api.get(URL, {"orderId": 2}).json()["results"] == []


def test_list_filters_by_status(api):
    rejected = ship(60)
    ship(1)

    assert [s["id"] for s in api.get(URL, {"status": "REJECTED"}).json()["results"]] == [
        rejected.id
    ]
    assert_error(api.get(URL, {"status": "LOST"}), 400, fields={"status"})


@pytest.mark.parametrize("order_id", ["abc", "1.5", "0", "-1", "99999999999999999999"])
def test_list_filtered_by_a_bad_order_id_is_400_naming_it(api, order_id):
    assert_error(api.get(URL, {"orderId": order_id}), 400, fields={"orderId"})


def test_detail_shows_why_the_carrier_rejected_a_shipment(api):
    shipment = ship(51)

    body = api.get(f"{URL}/{shipment.id}").json()

    assert (body["id"], body["status"], body["trackingNumber"]) == (shipment.id, "REJECTED", "")
    assert body["reason"] == "51 units exceed the carrier's parcel limit of 50"


def test_detail_of_a_shipment_without_a_quantity_shows_null(api):
    shipment = ship(None)

    body = api.get(f"{URL}/{shipment.id}").json()

    assert (body["quantity"], body["skuCode"], body["status"]) == (None, "", "SHIPPED")


@pytest.mark.parametrize("suffix", ["1", "99999999999999999999", str(2**63)])
def test_detail_of_an_unknown_id_is_404(api, suffix):
    assert_error(api.get(f"{URL}/{suffix}"), 404)


@pytest.mark.parametrize(
    ("method", "path"),
    [("post", URL), ("delete", URL), ("put", "{detail}"), ("delete", "{detail}")],
)
def test_shipments_cannot_be_written_through_the_api(api, method, path):
    shipment = ship(1)

    response = getattr(api, method)(
        path.format(detail=f"{URL}/{shipment.id}"), {"status": "REJECTED"}, format="json"
    )

    assert_error(response, 405)
    assert Shipment.objects.get(id=shipment.id).status == "SHIPPED"


@pytest.mark.parametrize("path", ["/api/nope", f"{URL}/abc", f"{URL}/-1", f"{URL}/1/x"])
def test_an_unknown_route_is_a_json_404(api, path):
    assert_error(api.get(path), 404)
