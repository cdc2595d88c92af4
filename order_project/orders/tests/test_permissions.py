"""Who may do what with orders: customers place and read their own, staff read everyone's,
nobody anonymous does anything (health and metrics stay open)."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token

from orders.models import Order
from saga_runtime.testing import assert_error

pytestmark = pytest.mark.django_db

VALID = {"skuCode": "SKU-1", "price": "49.99", "quantity": 2}


def post(client, body=VALID, **headers):
    return client.post("/api/orders", json.dumps(body), content_type="application/json", **headers)


@pytest.mark.parametrize(
    ("method", "path"), [("get", "/api/orders"), ("post", "/api/orders"), ("get", "/api/orders/1")]
)
def test_anonymous_clients_get_401_with_how_to_authenticate(anonymous_client, method, path):
    response = getattr(anonymous_client, method)(path)

    assert_error(response, 401)
    assert response["WWW-Authenticate"] == "Token"
    assert not Order.objects.exists()


def test_a_wrong_token_gets_401(anonymous_client):
    response = anonymous_client.get("/api/orders", headers={"Authorization": "Token " + "0" * 40})

    assert_error(response, 401)


def test_a_known_token_is_not_looked_up_again(client, django_assert_num_queries):
    first = CaptureQueriesContext(connection)
    with first:
        assert client.get("/api/orders").status_code == 200

    with django_assert_num_queries(len(first) - 1):
        assert client.get("/api/orders").status_code == 200


def test_with_no_token_cache_every_request_looks_the_token_up(
    client, settings, django_assert_num_queries
):
    settings.API_TOKEN_CACHE_SECONDS = 0
    first = CaptureQueriesContext(connection)
    with first:
        assert client.get("/api/orders").status_code == 200

    with django_assert_num_queries(len(first)):
        assert client.get("/api/orders").status_code == 200


def test_a_deleted_token_is_refused_at_once(client, api_token):
    assert client.get("/api/orders").status_code == 200

    Token.objects.filter(key=api_token).delete()

    assert_error(client.get("/api/orders"), 401)


def test_a_deactivated_user_is_refused_at_once(client, api_user):
    assert client.get("/api/orders").status_code == 200

    api_user.is_active = False
    api_user.save()

    assert_error(client.get("/api/orders"), 401)


def test_an_order_belongs_to_who_placed_it(client, api_user):
    response = post(client)

    assert response.status_code == 201
    assert Order.objects.get(pk=response.json()["id"]).owner == api_user


def test_others_orders_are_not_found_and_not_listed(client, place_order, django_user_model):
    mine = place_order()
    other = django_user_model.objects.create_user(username="someone-else")
    theirs = Order.objects.create(
        owner=other, sku_code="SKU-2", price="1.00", quantity=1, deadline_at=mine.deadline_at
    )

    assert client.get(f"/api/orders/{mine.pk}").status_code == 200
    assert_error(client.get(f"/api/orders/{theirs.pk}"), 404)
    assert_error(client.get(f"/api/orders/{theirs.pk}?wait=1"), 404)
    assert [o["id"] for o in client.get("/api/orders").json()["results"]] == [mine.pk]


def test_staff_read_everyones_orders(staff_client, place_order):
    order = place_order()

    assert staff_client.get(f"/api/orders/{order.pk}").status_code == 200
    assert [o["id"] for o in staff_client.get("/api/orders").json()["results"]] == [order.pk]


def test_a_session_from_the_admin_login_works_in_the_browsable_api(anonymous_client, api_user):
    assert anonymous_client.login(username="customer", password="customer-pw")

    response = anonymous_client.get("/api/orders", headers={"Accept": "text/html"})

    assert response.status_code == 200
    assert "customer" in response.content.decode()


@pytest.mark.parametrize("path", ["/health/live", "/health/ready", "/metrics"])
def test_health_and_metrics_stay_open(anonymous_client, path):
    assert anonymous_client.get(path).status_code == 200
