"""Throttling (API_THROTTLE_USER, API_THROTTLE_ANON): a client over its rate gets 429 with
Retry-After, in the error shape; by default 100 requests a second for a user, 60 a minute for
an anonymous client."""

import json
import runpy
import time

import pytest
from django.core.cache import cache
from rest_framework.throttling import AnonRateThrottle, SimpleRateThrottle, UserRateThrottle

from config.settings import base
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


def configured_rates() -> dict[str, str]:
    """The rates the service's settings give in the environment as it is now."""
    return runpy.run_path(base.__file__)["REST_FRAMEWORK"]["DEFAULT_THROTTLE_RATES"]


@pytest.fixture
def default_rates(monkeypatch):
    """The rates of a service started with neither API_THROTTLE_USER nor API_THROTTLE_ANON."""
    monkeypatch.delenv("API_THROTTLE_USER", raising=False)
    monkeypatch.delenv("API_THROTTLE_ANON", raising=False)
    rates = configured_rates()
    monkeypatch.setattr(UserRateThrottle, "THROTTLE_RATES", rates)
    monkeypatch.setattr(AnonRateThrottle, "THROTTLE_RATES", rates)
    cache.clear()
    yield rates
    cache.clear()


@pytest.fixture
def standing_clock(monkeypatch):
    """Every request counts in the same instant: a second does not run out mid-test."""
    now = time.time()
    monkeypatch.setattr(SimpleRateThrottle, "timer", lambda self: now)


def test_the_rates_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("API_THROTTLE_USER", "7/minute")
    monkeypatch.setenv("API_THROTTLE_ANON", "3/hour")

    assert configured_rates() == {"user": "7/minute", "anon": "3/hour"}


def test_by_default_a_user_gets_100_requests_a_second_and_an_anonymous_client_60_a_minute(
    client, anonymous_client, default_rates, standing_clock
):
    assert default_rates == {"user": "100/second", "anon": "60/minute"}

    assert {client.get("/api/orders").status_code for _ in range(100)} == {200}
    response = client.get("/api/orders")
    assert_error(response, 429)
    assert response["Retry-After"] == "1"

    assert {anonymous_client.get("/api/").status_code for _ in range(60)} == {200}
    response = anonymous_client.get("/api/")
    assert_error(response, 429)
    assert response["Retry-After"] == "60"
