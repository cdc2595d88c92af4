"""POST /api/orders with an Idempotency-Key: a retried request places nothing new."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from orders import services
from orders.models import IdempotencyKey, Order
from saga_runtime.models import OutboxMessage
from saga_runtime.testing import assert_error, run_at_once

pytestmark = pytest.mark.django_db

VALID = {"skuCode": "SKU-1", "price": "49.99", "quantity": 2}
KEY = "3f1c9a64-5a7e-4d0b-9b8e-2f6c1d0e7a11"


def post(client, body=VALID, key=KEY):
    headers = {} if key is None else {"Idempotency-Key": key}
    return client.post(
        "/api/orders", json.dumps(body), content_type="application/json", headers=headers
    )


def test_a_retry_with_the_same_key_answers_the_first_order_and_places_nothing(client):
    first = post(client)
    again = post(client)

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json()["id"] == first.json()["id"]
    assert again["Location"] == first["Location"]
    assert again["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert Order.objects.count() == 1
    assert OutboxMessage.objects.count() == 1


def test_the_same_order_written_differently_is_the_same_request(client):
    first = post(client, {"skuCode": "SKU-1", "price": 49.99, "quantity": 2})
    again = post(client, {"skuCode": " SKU-1 ", "price": "49.99", "quantity": "2"})

    assert again.json()["id"] == first.json()["id"]


def test_the_same_key_with_a_different_order_answers_422(client):
    post(client)

    response = post(client, VALID | {"quantity": 3})

    assert_error(response, 422)
    assert "different order" in response.json()["detail"]
    assert Order.objects.count() == 1


def test_without_a_key_every_post_places_an_order(client):
    post(client, key=None)
    post(client, key=None)

    assert Order.objects.count() == 2


def test_keys_are_per_user(client, staff_client):
    post(client)
    post(staff_client)

    assert Order.objects.count() == 2


def test_a_key_past_its_retention_starts_over(client, settings):
    first = post(client)
    IdempotencyKey.objects.update(
        created_at=timezone.now()
        - timedelta(hours=settings.IDEMPOTENCY_KEY_RETENTION_HOURS, seconds=1)
    )

    again = post(client, VALID | {"quantity": 5})

    assert again.status_code == 201 and again.json()["id"] != first.json()["id"]
    assert IdempotencyKey.objects.get().order_id == again.json()["id"]


def test_keys_past_their_retention_are_forgotten_and_the_others_kept(client, settings):
    post(client, key="old")
    post(client, key="new")
    IdempotencyKey.objects.filter(key="old").update(
        created_at=timezone.now()
        - timedelta(hours=settings.IDEMPOTENCY_KEY_RETENTION_HOURS, seconds=1)
    )

    assert services.forget_expired_idempotency_keys() == 1

    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["new"]
    assert Order.objects.count() == 2  # the orders stay; only the keys go


@pytest.mark.parametrize("key", ["", "x" * 256, "has space", "naïve"])
def test_a_malformed_key_answers_400_and_places_nothing(client, key):
    response = post(client, key=key)

    assert_error(response, 400, field="Idempotency-Key")
    assert not Order.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_with_one_key_place_one_order(client):
    answers = run_at_once(*[lambda: post(client) for _ in range(4)])

    assert [a.status_code for a in answers] == [201] * 4
    assert len({a.json()["id"] for a in answers}) == 1
    assert sorted(a.has_header("Idempotent-Replayed") for a in answers) == [False, True, True, True]
    assert Order.objects.count() == 1
