"""Payments are for staff: anonymous clients get 401, customers 403."""

import pytest

from saga_runtime.testing import assert_error

pytestmark = pytest.mark.django_db

PATHS = ["/api/payments", "/api/payments/1", "/api/payments?orderId=1"]


@pytest.mark.parametrize("path", PATHS)
def test_anonymous_clients_get_401(anonymous_client, path):
    response = anonymous_client.get(path)

    assert_error(response, 401)
    assert response["WWW-Authenticate"] == "Token"


@pytest.mark.parametrize("path", PATHS)
def test_customers_get_403(api_client, path):
    assert_error(api_client.get(path), 403)


def test_staff_read_them(staff_client):
    assert staff_client.get("/api/payments").status_code == 200
