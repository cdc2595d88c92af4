"""The payments API: newest first, filterable by order, and a JSON 4xx for every bad request."""

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from payments import services
from payments.models import Payment
from payments.tests.conftest import order_confirmed
from saga_runtime.testing import assert_error

pytestmark = pytest.mark.django_db

URL = "/api/payments"


@pytest.fixture
def api(staff_token) -> APIClient:
    """Staff, who may do everything here (test_permissions.py covers everyone else)."""
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {staff_token}")
    return api


def charge(price: str, quantity: int = 1, **fields) -> Payment:
    order = order_confirmed(price, quantity, **fields)
    services.charge_payment(order=order)
    return Payment.objects.get(order_number=order.order_number)


def test_list_shows_payments_newest_first(api):
    payments = [charge(price) for price in ("1.00", "2.00", "3.00")]

    body = api.get(URL).json()

    assert body["count"] == 3
    assert [p["id"] for p in body["results"]] == [p.id for p in reversed(payments)]


def test_list_filters_by_order_id(api):
    wanted = charge("19.99", 3)
    charge("5.00")

    body = api.get(URL, {"orderId": wanted.order_id}).json()

    [shown] = body["results"]
    assert (shown["id"], shown["orderId"], shown["orderNumber"]) == (
        wanted.id,
        wanted.order_id,
        str(wanted.order_number),
    )
    assert (Decimal(shown["amount"]), shown["status"]) == (Decimal("59.97"), "SUCCEEDED")


def test_list_filtered_by_an_order_without_payments_is_empty(api):
    charge("5.00", order_id=1)

    assert api.get(URL, {"orderId": 2}).json()["results"] == []


def test_list_filters_by_status(api):
    declined = charge("6000.00")
    charge("5.00")

    assert [p["id"] for p in api.get(URL, {"status": "DECLINED"}).json()["results"]] == [
        declined.id
    ]
    assert_error(api.get(URL, {"status": "LOST"}), 400, fields={"status"})


@pytest.mark.parametrize("order_id", ["abc", "1.5", "0", "-1", "99999999999999999999"])
def test_list_filtered_by_a_bad_order_id_is_400_naming_it(api, order_id):
    assert_error(api.get(URL, {"orderId": order_id}), 400, fields={"orderId"})


def test_detail_shows_the_payment_and_its_refund(api):
    payment = charge("19.99", 3)
    services.refund_payment(order_number=payment.order_number, reason="parcel too large")

    body = api.get(f"{URL}/{payment.id}").json()

    assert (body["id"], body["status"], body["refundReason"]) == (
        payment.id,
        "REFUNDED",
        "parcel too large",
    )
    assert Decimal(body["amount"]) == Decimal("59.97")
    assert body["refundedAt"] and body["createdAt"]


def test_detail_shows_why_a_payment_was_declined(api):
    payment = charge("6000.00")

    body = api.get(f"{URL}/{payment.id}").json()

    assert body["status"] == "DECLINED"
    assert body["reason"] == "amount 6000.00 exceeds the limit of 5000.00"
    assert body["refundedAt"] is None


@pytest.mark.parametrize("suffix", ["1", "99999999999999999999", str(2**63)])
def test_detail_of_an_unknown_id_is_404(api, suffix):
    assert_error(api.get(f"{URL}/{suffix}"), 404)


@pytest.mark.parametrize(
    ("method", "path"),
    [("post", URL), ("delete", URL), ("put", "{detail}"), ("delete", "{detail}")],
)
def test_payments_cannot_be_written_through_the_api(api, method, path):
    payment = charge("10.00")

    response = getattr(api, method)(
        path.format(detail=f"{URL}/{payment.id}"), {"status": "REFUNDED"}, format="json"
    )

    assert_error(response, 405)
    assert Payment.objects.get(id=payment.id).status == "SUCCEEDED"


@pytest.mark.parametrize("path", ["/api/nope", f"{URL}/abc", f"{URL}/-1", "/api/payments/1/x"])
def test_an_unknown_route_is_a_json_404(api, path):
    assert_error(api.get(path), 404)
