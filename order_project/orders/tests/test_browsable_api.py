"""The API as a person meets it: the browsable API's pages and forms, the API root, links,
filters, and JSON answers for paths and bodies the API does not take."""

from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.utils import timezone

from orders.models import Order, OrderStatus
from saga_runtime.testing import assert_error

pytestmark = pytest.mark.django_db

HTML = {"Accept": "text/html"}


def form_fields(html: str) -> set[str]:
    """The names of the inputs of the page's POST form."""
    form = html[html.index('method="POST"') :]
    form = form[: form.index("</form>")]
    return {part.split('"', 1)[0] for part in form.split('name="')[1:]} - {"csrfmiddlewaretoken"}


def test_the_form_after_placing_an_order_still_asks_only_for_what_a_client_sends(client):
    response = client.post(
        "/api/orders",
        urlencode({"sku_code": "SKU-F", "price": "3.30", "quantity": "3"}),
        content_type="application/x-www-form-urlencoded",
        headers=HTML,
    )

    assert response.status_code == 201
    html = response.content.decode()
    assert form_fields(html) == {"sku_code", "price", "quantity"}
    assert "Lists are not currently supported" not in html


def test_pages_have_human_titles_and_labels(client, place_order):
    order = place_order()

    listing = client.get("/api/orders", headers=HTML).content.decode()
    detail = client.get(f"/api/orders/{order.pk}", headers=HTML).content.decode()

    assert "<title>Orders" in listing and "<title>Order" in detail
    assert "Order List Create Api" not in listing
    assert "SKU code" in listing and "Skucode" not in listing


def test_the_api_root_lists_the_services_endpoints_and_docs(anonymous_client):
    response = anonymous_client.get("/api/")

    assert response.status_code == 200
    assert response.json() == {
        "orders": "http://testserver/api/orders",
        "docs": "http://testserver/api/docs/",
        "redoc": "http://testserver/api/redoc/",
        "schema": "http://testserver/api/schema/",
    }


def test_list_items_link_to_their_detail(client, place_order):
    order = place_order()

    [item] = client.get("/api/orders").json()["results"]

    assert item["url"] == f"http://testserver/api/orders/{order.pk}"
    assert client.get(item["url"]).json()["orderNumber"] == str(order.order_number)


def test_orders_are_filtered_by_status_sku_and_placement_time(client, order_in):
    shipped = order_in(OrderStatus.SHIPPED, sku_code="SKU-A")
    failed = order_in(OrderStatus.FAILED, sku_code="SKU-B")
    Order.objects.filter(pk=failed.pk).update(created_at=timezone.now() - timedelta(days=2))

    def ids(**query) -> list[int]:
        return [o["id"] for o in client.get("/api/orders", query).json()["results"]]

    yesterday = (timezone.now() - timedelta(days=1)).isoformat()
    assert ids(status="SHIPPED") == [shipped.pk]
    assert ids(skuCode="SKU-B") == [failed.pk]
    assert ids(createdAfter=yesterday) == [shipped.pk]
    assert ids(createdBefore=yesterday) == [failed.pk]
    assert ids() == [shipped.pk, failed.pk]


def test_an_empty_filter_value_filters_nothing(client, order_in):
    # What the browsable API's filter form sends for the fields left blank; the schema says so
    # (allowEmptyValue).
    shipped = order_in(OrderStatus.SHIPPED)
    query = {"status": "", "skuCode": "", "createdAfter": "", "createdBefore": "", "page": ""}

    response = client.get("/api/orders", query)

    assert [o["id"] for o in response.json()["results"]] == [shipped.pk]


@pytest.mark.parametrize("offset", ["+17:00", "-23:59", "+15:59", "Z"])
def test_a_placement_time_is_compared_in_utc_whatever_its_offset(client, order_in, offset):
    # PostgreSQL refuses offsets past ±15:59 that ISO 8601 allows: this once answered 500.
    order = order_in(OrderStatus.SHIPPED)
    before, after = "2000-01-01T00:00:00" + offset, "9000-01-01T00:00:00" + offset

    def ids(**query) -> list[int]:
        response = client.get("/api/orders", query)
        assert response.status_code == 200, response.content
        return [o["id"] for o in response.json()["results"]]

    assert ids(createdAfter=before) == ids(createdBefore=after) == [order.pk]
    assert ids(createdAfter=after) == ids(createdBefore=before) == []


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"status": "LOST"}, "status"),
        ({"createdAfter": "yesterday"}, "createdAfter"),
        # Before the year 1 once in UTC, which no datetime holds.
        ({"createdAfter": "0001-01-01T00:00:00+01:00"}, "createdAfter"),
        ({"createdBefore": "9999-12-31T23:59:59-01:00"}, "createdBefore"),
    ],
)
def test_a_filter_value_that_does_not_fit_answers_400_naming_it(client, query, field):
    assert_error(client.get("/api/orders", query), 400, field=field)


@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize("path", ["/nope", "/api/orders/abc", "/api/orders/1/extra", "/api"])
def test_unknown_paths_answer_json_404_whatever_debug_is(client, settings, debug, path):
    settings.DEBUG = debug

    assert_error(client.get(path, headers=HTML), 404)


def test_the_admin_still_redirects_a_path_without_its_slash(admin_client):
    response = admin_client.get("/admin")

    assert response.status_code == 301 and response["Location"] == "/admin/"


def test_an_unsupported_method_answers_json_405(client):
    assert_error(client.delete("/api/orders"), 405)


def test_a_body_over_the_limit_answers_413_and_places_nothing(client, settings):
    body = b'{"skuCode": "' + b"x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1) + b'"}'

    response = client.post("/api/orders", body, content_type="application/json")

    assert_error(response, 413)
    assert not Order.objects.exists()
