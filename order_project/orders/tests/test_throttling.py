"""Throttling (API_THROTTLE_USER, API_THROTTLE_ANON): a client over its rate gets 429 with
Retry-After, in the error shape."""

import json

import pytest
from django.core.cache import cache
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle

from saga_runtime.testing import assert_error

pytestmark = pytest.mark.django_db


@pytest.fixture
def low_rates(monkeypatch):
    # DRF reads the rates into the classes once, when it is imported.
    monkeypatch.setattr(
        UserRateThrottle, "THROTTLE_RATES", {"user": "2/minute", "anon": "1/minute"}
    )
    monkeypatch.setattr(
        AnonRateThrottle, "THROTTLE_RATES", {"user": "2/minute", "anon": "1/minute"}
    )
    cache.clear()
    yield
    cache.clear()


def test_a_user_over_the_rate_gets_429_with_retry_after(client, low_rates):
    assert [client.get("/api/orders").status_code for _ in range(2)] == [200, 200]

    response = client.get("/api/orders")

    assert_error(response, 429)
    assert 0 < int(response["Retry-After"]) <= 60


def test_anonymous_clients_have_their_own_lower_rate_on_what_is_open_to_them(
    anonymous_client, low_rates
):
    # Everything else answers an anonymous client 401 before any rate is counted.
    assert anonymous_client.get("/api/schema/?format=json").status_code == 200

    response = anonymous_client.get("/api/schema/?format=json")

    # The schema view renders its errors with the schema's media type; the body is the same.
    assert response.status_code == 429
    assert json.loads(response.content)["status"] == 429
