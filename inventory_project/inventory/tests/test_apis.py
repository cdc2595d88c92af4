"""The stock API: adding and reading stock, and a 4xx with one error shape for every bad input."""

import json

import pytest
from rest_framework.test import APIClient

from inventory import services
from inventory.models import MAX_STOCK, Stock
from inventory.tests.conftest import new_sku, stock_of
from saga_runtime.testing import assert_error, database_unreachable

pytestmark = pytest.mark.django_db

URL = "/api/inventories"


@pytest.fixture
def api(staff_token) -> APIClient:
    """Staff, who may do everything here (test_permissions.py covers everyone else)."""
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {staff_token}")
    return api


def add(api: APIClient, body, **kwargs):
    return api.post(URL, body, format="json", **kwargs)


# -- adding stock ---------------------------------------------------------------------------


def test_post_of_a_new_sku_creates_it_with_201_and_its_location(api):
    sku = new_sku()

    response = add(api, {"skuCode": sku, "quantity": 10})

    assert response.status_code == 201
    assert response.json()["skuCode"] == sku
    assert (response.json()["quantity"], response.json()["totalAdded"]) == (10, 10)
    assert response["Location"].endswith(f"{URL}/{sku}")
    assert api.get(response["Location"]).json()["quantity"] == 10
    assert (stock_of(sku).available, stock_of(sku).total_added) == (10, 10)


def test_post_of_an_existing_sku_adds_to_its_stock_with_200(api):
    sku = new_sku()
    add(api, {"skuCode": sku, "quantity": 10})

    response = add(api, {"skuCode": sku, "quantity": 5})

    assert response.status_code == 200
    assert (response.json()["quantity"], response.json()["totalAdded"]) == (15, 15)
    assert response["Location"].endswith(f"{URL}/{sku}")
    assert Stock.objects.filter(sku_code=sku).count() == 1
    assert stock_of(sku).available == 15


def test_post_trims_the_sku(api):
    sku = new_sku()

    response = add(api, {"skuCode": f"  {sku}\t", "quantity": 1})

    assert response.status_code == 201
    assert stock_of(sku).available == 1


def test_post_of_zero_units_creates_an_empty_sku(api):
    sku = new_sku()

    assert add(api, {"skuCode": sku, "quantity": 0}).status_code == 201

    assert stock_of(sku).available == 0


@pytest.mark.parametrize("suffix", ["/blue", "/a/b/", "?x=1", "#1", "%20", " big", "ü"])
def test_post_of_a_sku_with_url_characters_is_readable_at_its_location(api, suffix):
    sku = f"{new_sku()}{suffix}"

    response = add(api, {"skuCode": sku, "quantity": 2})

    assert response.status_code == 201
    assert api.get(response["Location"]).json()["skuCode"] == sku


def test_post_up_to_the_column_limit_is_accepted(api):
    sku = new_sku()

    response = add(api, {"skuCode": sku, "quantity": MAX_STOCK})

    assert response.status_code == 201
    assert stock_of(sku).total_added == MAX_STOCK


def test_post_that_would_overflow_an_existing_sku_is_400_on_quantity_and_changes_nothing(api):
    sku = new_sku()
    add(api, {"skuCode": sku, "quantity": MAX_STOCK - 5})

    body = assert_error(add(api, {"skuCode": sku, "quantity": 6}), 400, fields={"quantity"})

    assert str(MAX_STOCK) in body["fields"]["quantity"][0]
    assert stock_of(sku).total_added == MAX_STOCK - 5


# -- reading stock --------------------------------------------------------------------------


def test_get_of_a_sku_shows_its_stock(api):
    sku = new_sku()
    services.add_stock(sku_code=sku, quantity=8)

    body = api.get(f"{URL}/{sku}").json()

    assert body["skuCode"] == sku
    assert (body["quantity"], body["reserved"], body["shipped"], body["totalAdded"]) == (8, 0, 0, 8)
    assert body["updatedAt"]


@pytest.mark.parametrize("suffix", ["", "%ED%A0%80", "x" * 65], ids=["plain", "bad-utf8", "long"])
def test_get_of_an_unknown_sku_is_404(api, suffix):
    assert_error(api.get(f"{URL}/{new_sku()}{suffix}"), 404)


def test_get_of_a_sku_with_a_nul_is_400(api):
    # PostgreSQL cannot even compare with a NUL: refused before any view runs.
    assert_error(api.get(f"{URL}/{new_sku()}%00"), 400)


def test_list_is_paginated(api):
    skus = sorted(new_sku() for _ in range(21))
    for sku in skus:
        services.add_stock(sku_code=sku, quantity=1)

    first = api.get(URL).json()
    second = api.get(first["next"]).json()

    assert first["count"] == 21
    assert [s["skuCode"] for s in first["results"]] == skus[:20]
    assert [s["skuCode"] for s in second["results"]] == skus[20:]
    assert second["next"] is None


def test_list_page_beyond_the_last_is_404(api):
    services.add_stock(sku_code=new_sku(), quantity=1)

    assert_error(api.get(URL, {"page": 2}), 404)
    assert_error(api.get(URL, {"page": "abc"}), 404)


# -- the database down ----------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "send",
    [
        lambda api, sku: api.get(f"{URL}/{sku}"),
        lambda api, sku: add(api, {"skuCode": sku, "quantity": 1}),
    ],
    ids=["read", "add"],
)
def test_reading_or_adding_stock_while_the_database_is_down_answers_503_with_retry_after(api, send):
    sku = new_sku()
    with database_unreachable():
        response = send(api, sku)

    assert_error(response, 503)
    assert response["Retry-After"] == "5"
    assert not Stock.objects.filter(sku_code=sku).exists()


# -- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"skuCode": "", "quantity": 1}, "skuCode"),
        ({"skuCode": "   ", "quantity": 1}, "skuCode"),
        ({"skuCode": "A" * 65, "quantity": 1}, "skuCode"),
        ({"skuCode": None, "quantity": 1}, "skuCode"),
        ({"skuCode": True, "quantity": 1}, "skuCode"),
        ({"skuCode": ["A"], "quantity": 1}, "skuCode"),
        ({"skuCode": {"a": 1}, "quantity": 1}, "skuCode"),
        ({"skuCode": "A\x00B", "quantity": 1}, "skuCode"),
        ({"quantity": 1}, "skuCode"),
        ({"skuCode": "SKU"}, "quantity"),
        ({"skuCode": "SKU", "quantity": -1}, "quantity"),
        ({"skuCode": "SKU", "quantity": "abc"}, "quantity"),
        ({"skuCode": "SKU", "quantity": True}, "quantity"),
        ({"skuCode": "SKU", "quantity": False}, "quantity"),
        ({"skuCode": "SKU", "quantity": 1.5}, "quantity"),
        ({"skuCode": "SKU", "quantity": None}, "quantity"),
        ({"skuCode": "SKU", "quantity": [1]}, "quantity"),
        ({"skuCode": "SKU", "quantity": MAX_STOCK + 1}, "quantity"),
        ({"skuCode": "SKU", "quantity": 10**30}, "quantity"),
        ({"skuCode": "SKU", "quantity": "9" * 1000}, "quantity"),
    ],
)
def test_post_with_an_invalid_field_is_400_naming_it(api, body, field):
    assert_error(add(api, body), 400, fields={field})
    assert not Stock.objects.exists()


def test_post_with_both_fields_invalid_names_both(api):
    assert_error(add(api, {"skuCode": " ", "quantity": -3}), 400, fields={"skuCode", "quantity"})


def test_post_of_malformed_json_is_400(api):
    response = api.post(URL, '{"skuCode": "SKU", "quantity": ', content_type="application/json")

    body = assert_error(response, 400)
    assert "JSON" in body["detail"]
    assert not Stock.objects.exists()


def test_post_of_a_wrong_content_type_is_415(api):
    response = api.post(URL, "skuCode=SKU", content_type="text/plain")

    assert_error(response, 415)
    assert not Stock.objects.exists()


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("delete", URL),
        ("put", URL),
        ("patch", URL),
        ("post", f"{URL}/SKU"),
        ("delete", f"{URL}/SKU"),
    ],
)
def test_a_wrong_method_is_405(api, method, path):
    services.add_stock(sku_code="SKU", quantity=1)

    assert_error(getattr(api, method)(path, {}, format="json"), 405)

    assert stock_of("SKU").available == 1


@pytest.mark.parametrize("path", ["/api/nope", "/api/inventories/a/b/c/", "/nope", "/api"])
def test_an_unknown_route_is_a_json_404(api, path):
    assert_error(api.get(path), 404)


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"null",
        b"[]",
        b"[1, 2, 3]",
        b'"a string"',
        b"42",
        b"true",
        b"{}",
        b'{"skuCode": {"$gt": ""}, "quantity": {"a": []}}',
        b'{"skuCode": "SKU", "quantity": 1e400}',
        b'{"skuCode": "SKU", "quantity": NaN}',
        b'{"skuCode": "SKU", "quantity": Infinity}',
        b'{"skuCode": "\\ud800", "quantity": 1}',
        b"\xff\xfe\x00garbage",
        json.dumps({"skuCode": "x" * 100_000, "quantity": 1}).encode(),
        b"{" * 10_000,
        b"[" * 100_000 + b"]" * 100_000,
    ],
)
def test_junk_bodies_are_400_and_never_500(api, raw):
    response = api.post(URL, raw, content_type="application/json")

    assert_error(response, 400)
    assert not Stock.objects.exists()
