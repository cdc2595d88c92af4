"""How a charge is decided: a limit first, then the demo success rate."""

from decimal import Decimal

import pytest

from payments.decisions import decline_reason

#: Enough draws that a rate of 0.0 or 1.0 leaking the other way would show.
DRAWS = 500


@pytest.fixture
def limit(settings) -> Decimal:
    settings.PAYMENT_DECLINE_ABOVE = Decimal("100.00")
    return settings.PAYMENT_DECLINE_ABOVE


def test_an_amount_exactly_at_the_limit_is_accepted(limit):
    assert decline_reason(limit) is None


def test_an_amount_one_cent_over_the_limit_is_declined_with_the_limit_named(limit):
    reason = decline_reason(limit + Decimal("0.01"))

    assert reason == f"amount {limit + Decimal('0.01')} exceeds the limit of {limit}"


def test_the_smallest_amount_is_accepted(limit):
    assert decline_reason(Decimal("0.01")) is None


def test_the_limit_follows_the_setting(settings):
    settings.PAYMENT_DECLINE_ABOVE = Decimal("10.00")
    assert decline_reason(Decimal("10.01")) is not None

    settings.PAYMENT_DECLINE_ABOVE = Decimal("20.00")
    assert decline_reason(Decimal("10.01")) is None


def test_a_success_rate_of_zero_always_declines(limit, settings):
    settings.PAYMENT_SUCCESS_RATE = 0.0

    reasons = {decline_reason(Decimal("1.00")) for _ in range(DRAWS)}

    assert reasons == {"declined by the payment provider"}


def test_a_success_rate_of_one_never_declines_below_the_limit(limit, settings):
    settings.PAYMENT_SUCCESS_RATE = 1.0

    assert {decline_reason(limit) for _ in range(DRAWS)} == {None}


def test_the_limit_declines_whatever_the_success_rate(limit, settings):
    settings.PAYMENT_SUCCESS_RATE = 1.0

    assert "exceeds the limit" in decline_reason(Decimal("100.01"))
