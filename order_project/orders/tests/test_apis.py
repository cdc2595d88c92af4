"""The order API over HTTP (Django's test client, the real database; Kafka where events leave)."""

import json
import random
import threading
import time
from datetime import datetime
from decimal import Decimal
from urllib.parse import urlencode, urlsplit

import pytest
from django.db import connection

from orders import services
from orders.apis import OrderDetailSerializer, order_answer, order_url
from orders.handlers import HANDLERS
from orders.models import Order, OrderHistory, OrderStatus
from orders.selectors import order_with_history
from orders.tests.conftest import PATH_TO, incoming
from orders.waiting import watcher
from saga_events import (
    InventoryReleasedEvent,
    OrderPlacedEvent,
    PaymentRefundedEvent,
    ShipmentShippedEvent,
)
from saga_events.codec import decode
from saga_runtime.models import OutboxMessage
from saga_runtime.testing import assert_error, database_unreachable, wait_for

pytestmark = pytest.mark.django_db

VALID = {"skuCode": "SKU-1", "price": "49.99", "quantity": 2}


def post_json(client, body, **extra):
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.generic("POST", "/api/orders", data, content_type="application/json", **extra)


def assert_nothing_written() -> None:
    assert not Order.objects.exists()
    assert not OutboxMessage.objects.exists()


# -- placing an order -------------------------------------------------------------------------


def test_placing_an_order_answers_201_with_the_pending_order_and_where_to_find_it(client):
    response = post_json(client, {"skuCode": "  SKU-1  ", "price": 49.9, "quantity": 3})

    assert response.status_code == 201
    body = response.json()
    order = Order.objects.get()
    assert set(body) == {
        "id",
        "url",
        "orderNumber",
        "skuCode",
        "price",
        "quantity",
        "status",
        "failureReason",
        "compensation",
        "deadlineAt",
        "createdAt",
        "updatedAt",
        "history",
    }
    assert body["id"] == order.id
    assert body["orderNumber"] == str(order.order_number)
    assert (body["skuCode"], body["price"], body["quantity"]) == ("SKU-1", "49.90", 3)
    assert (body["status"], body["failureReason"], body["compensation"]) == (
        OrderStatus.PENDING,
        "",
        "",
    )
    assert datetime.fromisoformat(body["deadlineAt"]) == order.deadline_at
    assert datetime.fromisoformat(body["createdAt"]) == order.created_at
    assert datetime.fromisoformat(body["updatedAt"]) == order.updated_at
    [line] = body["history"]
    assert (line["fromStatus"], line["toStatus"], line["eventType"]) == (
        "",
        "PENDING",
        "OrderPlacedEvent",
    )
    location = urlsplit(response["Location"])
    assert location.path == f"/api/orders/{order.id}"
    assert client.get(location.path).json() == body


def test_placing_an_order_writes_its_order_placed_event_to_the_outbox_with_it(client):
    body = post_json(client, {"skuCode": " SKU-9 ", "price": "10", "quantity": 5}).json()

    [row] = OutboxMessage.objects.all()
    event = decode(OrderPlacedEvent, row.payload)
    assert (row.key, row.sent_at) == (body["orderNumber"], None)
    assert str(event.event_id) == body["history"][0]["eventId"]
    assert (event.order_id, str(event.order_number)) == (body["id"], body["orderNumber"])
    assert (event.sku_code, event.price, event.quantity) == ("SKU-9", Decimal("10.00"), 5)


@pytest.mark.django_db(transaction=True)
def test_the_order_placed_event_reaches_its_topic_keyed_by_order_number(client, relay, kafka):
    body = post_json(client, {"skuCode": "\tSKU-K ", "price": "7.5", "quantity": 4}).json()

    relay.publish_all()

    messages = kafka.read(
        kafka.config.topic(OrderPlacedEvent),
        until=lambda ms: any(m.key() == body["orderNumber"].encode() for m in ms),
    )
    [message] = [m for m in messages if m.key() == body["orderNumber"].encode()]
    headers = {key: value.decode() for key, value in message.headers()}
    assert headers["eventType"] == "OrderPlacedEvent"
    assert headers["content-type"] == "application/json"
    value = json.loads(message.value(), parse_float=Decimal)
    assert {k: v for k, v in value.items() if k not in ("eventId", "occurredAt")} == {
        "orderId": body["id"],
        "orderNumber": body["orderNumber"],
        "skuCode": "SKU-K",
        "price": Decimal("7.50"),
        "quantity": 4,
    }
    assert b'"price":7.50' in message.value()  # a number with two decimals, not a string
    assert value["eventId"] == body["history"][0]["eventId"]
    assert OutboxMessage.objects.get(event_id=value["eventId"]).sent_at is not None


@pytest.mark.parametrize(
    "fields",
    [
        {"skuCode": "S" * 64},
        {"price": "0.01", "quantity": 2_147_483_647},
        {"price": "9999999999.99", "quantity": 1},
        {"price": "4999999999.99", "quantity": 2},
        {"price": 5, "quantity": 1},
    ],
    ids=["sku-64-chars", "max-quantity", "max-price", "max-amount", "integer-price"],
)
def test_orders_at_the_limits_are_accepted(client, fields):
    body = VALID | fields

    response = post_json(client, body)

    assert response.status_code == 201, response.content
    order = Order.objects.get()
    assert (order.sku_code, order.price, order.quantity) == (
        body["skuCode"],
        Decimal(str(body["price"])),
        body["quantity"],
    )


# -- bad input --------------------------------------------------------------------------------

MISSING = object()

BAD_FIELDS = [
    ("skuCode", ""),
    ("skuCode", "   "),
    ("skuCode", "S" * 65),
    ("skuCode", "  " + "S" * 65 + "  "),
    ("skuCode", None),
    ("skuCode", MISSING),
    ("skuCode", {"code": "SKU-1"}),
    ("skuCode", ["SKU-1"]),
    ("skuCode", True),
    ("skuCode", "SKU\u0000"),
    ("price", 0),
    ("price", "0.00"),
    ("price", "0.001"),
    ("price", "1.005"),
    ("price", -1),
    ("price", "-0.01"),
    ("price", "NaN"),
    ("price", "Infinity"),
    ("price", "-Infinity"),
    ("price", "abc"),
    ("price", "12345678901.00"),
    ("price", 10**12),
    ("price", None),
    ("price", MISSING),
    ("price", {"amount": 1}),
    ("price", [1]),
    ("price", True),
    ("quantity", 0),
    ("quantity", -1),
    ("quantity", 2.5),
    ("quantity", "two"),
    ("quantity", 2_147_483_648),
    ("quantity", 10**30),
    ("quantity", None),
    ("quantity", MISSING),
    ("quantity", {"n": 1}),
    ("quantity", [1]),
    ("quantity", True),
]


@pytest.mark.parametrize(("field", "value"), BAD_FIELDS, ids=lambda v: repr(v)[:30])
def test_a_bad_field_answers_400_naming_it_and_stores_nothing(client, field, value):
    body = {k: v for k, v in (VALID | {field: value}).items() if v is not MISSING}

    response = post_json(client, body)

    assert_error(response, 400, field=field)
    assert_nothing_written()


@pytest.mark.parametrize(
    ("price", "quantity"), [("9999999999.99", 2), ("5000000000.00", 2), ("0.01", 2_147_483_647)]
)
def test_an_amount_beyond_the_money_column_is_refused(client, price, quantity):
    response = post_json(client, VALID | {"price": price, "quantity": quantity})

    if Decimal(price) * quantity > Decimal("9999999999.99"):
        assert_error(response, 400, field="quantity")
        assert_nothing_written()
    else:
        assert response.status_code == 201


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ('{"skuCode": "SKU-1", "price": NaN, "quantity": 1}', None),
        ('{"skuCode": "SKU-1", "price": Infinity, "quantity": 1}', None),
        ('{"skuCode": "SKU-1", "price": -Infinity, "quantity": 1}', None),
        ('{"skuCode": "SKU-1", "price": 1e400, "quantity": 1}', "price"),
        ('{"skuCode": "SKU-1", "price": 1e-400, "quantity": 1}', "price"),
        ('{"skuCode": "SKU-1", "price": 1.00, "quantity": 1e400}', "quantity"),
        ('{"skuCode": "SKU-1", "price": 1.00, "quantity": ' + "9" * 5000 + "}", None),
        ('{"skuCode": "\\ud800", "price": 1.00, "quantity": 1}', "skuCode"),
        ('{"skuCode": "SKU-1", "price": 1.00, "quantity": 1', None),
        ("{'skuCode': 'SKU-1'}", None),
        ("", None),
        ("null", "non_field_errors"),
        ("[]", "non_field_errors"),
        ('[{"skuCode": "SKU-1", "price": 1.00, "quantity": 1}]', "non_field_errors"),
        ('"SKU-1"', "non_field_errors"),
        ("42", "non_field_errors"),
        ("{}", "skuCode"),
        ('{"order": {"skuCode": "SKU-1", "price": 1.00, "quantity": 1}}', "skuCode"),
    ],
    ids=lambda v: repr(v)[:30],
)
def test_malformed_json_answers_400_with_the_error_shape(client, raw, field):
    response = post_json(client, raw)

    assert_error(response, 400, field=field)
    assert_nothing_written()


def test_a_megabyte_of_junk_answers_400(client):
    junk = random.Random(1).randbytes(1_000_000)

    assert_error(post_json(client, junk), 400)
    assert_error(post_json(client, b"[" + b"1," * 500_000 + b"1]"), 400, field="non_field_errors")
    assert_nothing_written()


@pytest.mark.parametrize("opening", [b"[", b'{"a":'])
def test_deeply_nested_json_answers_400(client, opening):
    # As a server would answer, rather than re-raising the view's exception into the test.
    client.raise_request_exception = False

    response = post_json(client, opening * 100_000)

    assert_error(response, 400)
    assert_nothing_written()


def test_a_huge_integer_answers_400_without_naming_python_internals(client):
    response = post_json(client, b'{"skuCode": "S", "price": 1, "quantity": ' + b"9" * 5000 + b"}")

    assert_error(response, 400)
    assert "sys." not in response.content.decode()
    assert_nothing_written()


def test_a_body_that_is_not_json_answers_415(client):
    response = client.generic("POST", "/api/orders", json.dumps(VALID), content_type="text/plain")

    assert_error(response, 415)
    assert_nothing_written()


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_orders_cannot_be_replaced_or_deleted(client, place_order, method):
    order = place_order()

    assert_error(
        client.generic(method, "/api/orders", json.dumps(VALID), content_type="application/json"),
        405,
    )
    assert_error(client.generic(method, f"/api/orders/{order.id}"), 405)
    assert Order.objects.get() == order
    assert OutboxMessage.objects.count() == 1


@pytest.mark.parametrize(
    "path",
    [
        "/api/orders/999999",
        "/api/orders/99999999999999999999",
        "/api/orders?page=999",
        "/api/orders?page=zero",
        "/api/orders/abc",
        "/api/orders/",
        "/api/unknown",
        "/no/such/route",
    ],
)
def test_what_does_not_exist_answers_404_json(client, place_order, path):
    place_order()

    assert_error(client.get(path), 404)


# A property-style sweep: many bodies, each with at least one invalid field, none may pass or
# crash. Values are invalid for their field whatever the other fields hold.
INVALID = {
    "skuCode": ["", " ", "\t\n", "S" * 65, None, True, False, [], {}, ["S"], {"s": 1}, "\u0000"],
    "price": [
        None, True, "", " ", "x", "NaN", "-Infinity", "1e400", "0", 0, -5, 0.001, "0.009",
        "1.001", "1,00", "12345678901", 10**11, [], {}, [1.5], {"p": 1}, "0x10", "½",
    ],
    "quantity": [
        None, True, False, "", "x", 0, -1, 1.5, "2.5", 2**31, 10**20, -(2**63), [], {},
        [2], {"q": 2}, "1e3", "½",
    ],
}  # fmt: skip


def random_bad_body(rng: random.Random) -> tuple[dict, set[str]]:
    body = dict(VALID)
    broken = set(rng.sample(sorted(INVALID), rng.randint(1, 3)))
    for field in broken:
        if rng.random() < 0.15:
            del body[field]
        else:
            body[field] = rng.choice(INVALID[field])
    junk_keys = {rng.choice(["id", "status", "__proto__", "orderNumber"]): rng.random()}
    return body | (junk_keys if rng.random() < 0.3 else {}), broken


def test_no_random_bad_body_is_accepted_or_crashes(client):
    rng = random.Random(20261125)
    for _ in range(300):
        body, broken = random_bad_body(rng)
        if rng.random() < 0.1:
            raw = json.dumps(body)
            raw = raw[: rng.randrange(len(raw))]  # truncated: not JSON at all
            assert_error(post_json(client, raw), 400)
            continue

        response = post_json(client, body)

        fields = assert_error(response, 400)["fields"]
        assert set(fields) <= set(VALID), (body, fields)
        assert set(fields) & broken, (body, fields)
    assert_nothing_written()


# -- browsable API ----------------------------------------------------------------------------


def test_the_browsable_api_shows_a_form_to_place_an_order(client):
    response = client.get("/api/orders", HTTP_ACCEPT="text/html")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert 'method="POST"' in html
    for field in ("sku_code", "price", "quantity"):
        assert f'name="{field}"' in html
    assert "SKU code" in html and "Unit price" in html


@pytest.mark.parametrize("sku_field", ["sku_code", "skuCode"])
def test_an_order_can_be_placed_from_the_html_form(client, sku_field):
    response = client.post(
        "/api/orders",
        urlencode({sku_field: " SKU-F ", "price": "3.30", "quantity": "3"}),
        content_type="application/x-www-form-urlencoded",
        HTTP_ACCEPT="text/html",
    )

    assert response.status_code in (201, 302)
    order = Order.objects.get()
    assert (order.sku_code, order.price, order.quantity, order.status) == (
        "SKU-F",
        Decimal("3.30"),
        3,
        OrderStatus.PENDING,
    )
    assert OutboxMessage.objects.get().event_type == "OrderPlacedEvent"


def test_a_bad_html_form_answers_400_and_stores_nothing(client):
    response = client.post(
        "/api/orders",
        urlencode({"skuCode": "", "price": "free", "quantity": "3"}),
        content_type="application/x-www-form-urlencoded",
    )

    body = assert_error(response, 400)
    assert set(body["fields"]) == {"skuCode", "price"}
    assert_nothing_written()


# -- reading orders ---------------------------------------------------------------------------


def test_orders_are_listed_newest_first_twenty_to_a_page(client, place_order):
    placed = [place_order(sku_code=f"SKU-{n}") for n in range(23)]
    newest_first = [order.id for order in reversed(placed)]

    first = client.get("/api/orders").json()
    second = client.get(first["next"]).json()

    assert first["count"] == second["count"] == 23
    assert [o["id"] for o in first["results"]] == newest_first[:20]
    assert [o["id"] for o in second["results"]] == newest_first[20:]
    assert urlsplit(first["next"]).query == "page=2"
    assert (first["previous"], second["next"]) == (None, None)
    created = [datetime.fromisoformat(o["createdAt"]) for o in first["results"]]
    assert created == sorted(created, reverse=True)
    assert first["results"][0]["skuCode"] == "SKU-22"


def test_an_order_is_shown_with_its_history(client, place_order):
    order = place_order(sku_code="SKU-D", price="1.50", quantity=9)

    body = client.get(f"/api/orders/{order.id}").json()

    assert (body["id"], body["orderNumber"], body["skuCode"]) == (
        order.id,
        str(order.order_number),
        "SKU-D",
    )
    assert (body["price"], body["quantity"], body["status"]) == ("1.50", 9, "PENDING")
    [line] = body["history"]
    assert line["eventId"] == str(OutboxMessage.objects.get().event_id)
    assert datetime.fromisoformat(line["occurredAt"]) >= order.created_at


@pytest.mark.parametrize("status", [*PATH_TO, "SHIPMENT_FAILED, compensated"])
def test_the_order_answer_is_what_the_order_detail_serializer_gives(rf, order_in, api_user, status):
    placed = order_in(status.split(",")[0])
    if status.endswith("compensated"):
        for event_class in (InventoryReleasedEvent, PaymentRefundedEvent):
            HANDLERS[event_class](incoming(event_class, placed))
    OrderHistory.objects.create(  # a line no event caused, as a deadline's
        order=placed, from_status=placed.status, to_status=placed.status, event_type="", reason="-"
    )
    request = rf.get("/api/orders")
    order = order_with_history(order_id=placed.pk, user=api_user)

    answer = order_answer(order, url=order_url(request, order.pk))

    serialized = OrderDetailSerializer(order, context={"request": request}).data
    assert answer == json.loads(json.dumps(serialized))
    # What the case is about is in it: the line with no event, the compensation confirmed.
    assert answer["history"][-1]["event_id"] is None
    if status.endswith("compensated"):
        assert answer["compensation"] == "DONE"


# -- waiting for an order to end (long poll) ---------------------------------------------------


@pytest.mark.parametrize("wait", ["soon", "-1", "31", "nan"])
def test_a_wait_that_is_not_a_number_of_seconds_up_to_30_answers_400(client, place_order, wait):
    order = place_order()

    assert_error(client.get(f"/api/orders/{order.id}?wait={wait}"), 400, field="wait")


def test_waiting_for_an_order_that_has_ended_answers_at_once(client, order_in):
    order = order_in(OrderStatus.SHIPPED)
    started = time.monotonic()

    body = client.get(f"/api/orders/{order.id}?wait=30").json()

    assert body["status"] == OrderStatus.SHIPPED
    assert time.monotonic() - started < 10


@pytest.fixture
def order_end_watcher():
    """The process's watcher, stopped afterwards: its connection would keep the test database."""
    yield watcher
    watcher.stop()


def test_waiting_for_an_order_that_does_not_end_answers_with_it_as_it_is(
    client, place_order, order_end_watcher
):
    order = place_order()

    body = client.get(f"/api/orders/{order.id}?wait=0.3").json()

    assert body["status"] == OrderStatus.PENDING


@pytest.mark.django_db(transaction=True)
def test_waiting_for_an_order_answers_when_it_ends_not_when_the_wait_runs_out(
    client, order_in, order_end_watcher
):
    order = order_in(OrderStatus.PAID)

    def ship_once_waited_for() -> None:
        try:
            wait_for(
                lambda: str(order.id) in order_end_watcher._waiters,
                message="the request to wait",
            )
            services.mark_order_shipped(
                order_number=order.order_number,
                cause=incoming(ShipmentShippedEvent, order),
            )
        finally:
            connection.close()

    shipper = threading.Thread(target=ship_once_waited_for)
    shipper.start()
    started = time.monotonic()
    body = client.get(f"/api/orders/{order.id}?wait=30").json()
    shipper.join(30)

    assert body["status"] == OrderStatus.SHIPPED
    assert time.monotonic() - started < 15, "answered by the wait running out, not the end"


@pytest.mark.django_db(transaction=True)
def test_placing_an_order_while_the_database_is_down_answers_503_with_retry_after(client):
    with database_unreachable():
        response = post_json(client, VALID)

    assert_error(response, 503)
    assert response["Retry-After"] == "5"
    assert_nothing_written()


# -- placing an order and waiting for its end in one request ----------------------------------


@pytest.mark.parametrize("wait", ["soon", "-1", "31"])
def test_placing_with_a_wait_that_is_not_a_number_of_seconds_up_to_30_answers_400(client, wait):
    response = post_json(client, VALID, QUERY_STRING=f"wait={wait}")

    assert_error(response, 400, field="wait")
    assert_nothing_written()


def test_placing_with_a_wait_that_runs_out_answers_with_the_order_as_it_is(
    client, order_end_watcher
):
    response = post_json(client, VALID, QUERY_STRING="wait=0.3")

    assert response.status_code == 201
    body = response.json()
    assert body["status"] == OrderStatus.PENDING
    assert response["Location"].endswith(f"/api/orders/{body['id']}")


@pytest.mark.django_db(transaction=True)
def test_placing_with_a_wait_answers_once_the_order_has_ended(client, order_end_watcher):
    def run_the_saga_once_waited_for() -> None:
        try:
            order = wait_for(
                lambda: Order.objects.filter(
                    pk__in=[int(key) for key in order_end_watcher._waiters]
                ).first(),
                message="the request to wait",
            )
            for event_class in PATH_TO[OrderStatus.SHIPPED]:
                HANDLERS[event_class](incoming(event_class, order))
        finally:
            connection.close()

    saga = threading.Thread(target=run_the_saga_once_waited_for)
    saga.start()
    started = time.monotonic()
    response = post_json(client, VALID, QUERY_STRING="wait=30")
    saga.join(30)

    assert response.status_code == 201
    body = response.json()
    assert body["status"] == OrderStatus.SHIPPED
    assert [line["toStatus"] for line in body["history"]] == [
        OrderStatus.PENDING,
        OrderStatus.CONFIRMED,
        OrderStatus.PAID,
        OrderStatus.SHIPPED,
    ]
    assert time.monotonic() - started < 15, "answered by the wait running out, not the end"
