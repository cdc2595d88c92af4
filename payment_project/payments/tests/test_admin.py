"""The admin as a superuser: payments are shown, never added, changed or deleted."""

import pytest

from payments import services
from payments.models import Payment, PaymentStatus
from payments.tests.conftest import order_confirmed
from saga_events import OrderFailedEvent

pytestmark = pytest.mark.django_db

PAYMENTS = "/admin/payments/payment/"


@pytest.fixture
def payments() -> dict[str, Payment]:
    """One payment in each status, by status."""
    orders = {
        status: order_confirmed(price, 1)
        for status, price in [
            ("SUCCEEDED", "10.00"),
            ("DECLINED", "6000.00"),
            ("REFUNDED", "20.00"),
            ("CANCELLED", "30.00"),
        ]
    }
    for status, order in orders.items():
        if status != "CANCELLED":
            services.charge_payment(order=order)
    services.refund_payment(order_number=orders["REFUNDED"].order_number, reason="lost")
    cancelled = orders["CANCELLED"]
    services.cancel_payment(
        order=OrderFailedEvent.new(
            order_id=cancelled.order_id,
            order_number=cancelled.order_number,
            sku_code="SKU-1",
            reserved_quantity=1,
            reason="payment did not answer",
        )
    )
    return {s: Payment.objects.get(order_number=o.order_number) for s, o in orders.items()}


def listed(response) -> list:
    assert response.status_code == 200
    return list(response.context["cl"].result_list)


def test_payment_changelist_and_change_page_load(admin_client, payments):
    assert {p.pk for p in listed(admin_client.get(PAYMENTS))} == {p.pk for p in payments.values()}
    for payment in payments.values():
        response = admin_client.get(f"{PAYMENTS}{payment.pk}/change/")
        assert response.status_code == 200
        assert str(payment.order_number) in response.content.decode()


@pytest.mark.parametrize("status", PaymentStatus.values)
def test_payment_changelist_filters_by_status(admin_client, payments, status):
    found = listed(admin_client.get(PAYMENTS, {"status__exact": status}))

    assert [p.pk for p in found] == [payments[status].pk]


def test_payment_changelist_searches_by_order_number(admin_client, payments):
    wanted = payments["DECLINED"]

    found = listed(admin_client.get(PAYMENTS, {"q": str(wanted.order_number)}))

    assert [p.pk for p in found] == [wanted.pk]


def test_payments_cannot_be_added(admin_client, payments):
    assert admin_client.get(f"{PAYMENTS}add/").status_code == 403
    assert admin_client.post(f"{PAYMENTS}add/", {"amount": "1.00"}).status_code == 403

    assert Payment.objects.count() == len(payments)


def test_posting_to_a_payment_change_page_changes_nothing(admin_client, payments):
    payment = payments["SUCCEEDED"]

    response = admin_client.post(
        f"{PAYMENTS}{payment.pk}/change/", {"status": "REFUNDED", "amount": "0.01"}
    )

    assert response.status_code == 403
    payment.refresh_from_db()
    assert (payment.status, str(payment.amount)) == ("SUCCEEDED", "10.00")


def test_payments_cannot_be_deleted(admin_client, payments):
    payment = payments["SUCCEEDED"]

    response = admin_client.post(f"{PAYMENTS}{payment.pk}/delete/", {"post": "yes"})

    assert response.status_code == 403
    assert Payment.objects.filter(pk=payment.pk).exists()
