"""Who may do what with stock: anyone authenticated reads it, only staff add to it."""

import pytest

from saga_runtime.testing import assert_error

pytestmark = pytest.mark.django_db

BODY = {"skuCode": "SKU-1", "quantity": 5}


@pytest.mark.parametrize(
    ("method", "path"),
    [("get", "/api/inventories"), ("get", "/api/inventories/SKU-1"), ("post", "/api/inventories")],
)
def test_anonymous_clients_get_401(anonymous_client, method, path):
    response = getattr(anonymous_client, method)(path, BODY, content_type="application/json")

    assert_error(response, 401)
    assert response["WWW-Authenticate"] == "Token"


def test_customers_read_stock_but_may_not_add_to_it(api_client, staff_client):
    assert (
        staff_client.post("/api/inventories", BODY, content_type="application/json").status_code
        == 201
    )

    assert api_client.get("/api/inventories").status_code == 200
    assert api_client.get("/api/inventories/SKU-1").json()["quantity"] == 5
    assert_error(api_client.post("/api/inventories", BODY, content_type="application/json"), 403)
    assert api_client.get("/api/inventories/SKU-1").json()["quantity"] == 5
