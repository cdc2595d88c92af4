"""How the carrier decides: a parcel limit first, then the demo success rate."""

import pytest

from shipments.decisions import rejection_reason

#: Enough draws that a rate of 0.0 or 1.0 leaking the other way would show.
DRAWS = 500


@pytest.fixture
def limit(settings) -> int:
    settings.SHIPMENT_MAX_PARCEL_QUANTITY = 10
    return settings.SHIPMENT_MAX_PARCEL_QUANTITY


def test_a_parcel_exactly_at_the_limit_is_shipped(limit):
    assert rejection_reason(limit) is None


def test_a_parcel_one_unit_over_the_limit_is_rejected_with_the_limit_named(limit):
    assert rejection_reason(limit + 1) == (
        f"{limit + 1} units exceed the carrier's parcel limit of {limit}"
    )


def test_a_single_unit_is_shipped(limit):
    assert rejection_reason(1) is None


def test_the_limit_follows_the_setting(settings):
    settings.SHIPMENT_MAX_PARCEL_QUANTITY = 5
    assert rejection_reason(6) is not None

    settings.SHIPMENT_MAX_PARCEL_QUANTITY = 6
    assert rejection_reason(6) is None


def test_an_unknown_quantity_is_judged_by_the_rate_alone(limit, settings):
    settings.SHIPMENT_SUCCESS_RATE = 1.0
    assert {rejection_reason(None) for _ in range(DRAWS)} == {None}

    settings.SHIPMENT_SUCCESS_RATE = 0.0
    assert {rejection_reason(None) for _ in range(DRAWS)} == {"rejected by the carrier"}


def test_a_success_rate_of_zero_always_rejects(limit, settings):
    settings.SHIPMENT_SUCCESS_RATE = 0.0

    assert {rejection_reason(1) for _ in range(DRAWS)} == {"rejected by the carrier"}


def test_a_success_rate_of_one_never_rejects_within_the_limit(limit, settings):
    settings.SHIPMENT_SUCCESS_RATE = 1.0

    assert {rejection_reason(q) for q in range(1, limit + 1) for _ in range(50)} == {None}


def test_the_limit_rejects_whatever_the_success_rate(limit, settings):
    settings.SHIPMENT_SUCCESS_RATE = 1.0

    assert "parcel limit" in rejection_reason(limit + 1)
