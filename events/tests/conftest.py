from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest

from saga_events import ALL_EVENTS, Event
from saga_events.base import event_fields

EVENT_ID = UUID("3f2a9c1e-8b7d-4e6f-a5c4-1d2e3f4a5b6c")
ORDER_NUMBER = UUID("9d8c7b6a-5f4e-4d3c-8b2a-19f8e7d6c5b4")
OCCURRED_AT = datetime(2026, 11, 24, 10, 15, 30, 123456, tzinfo=UTC)

_SAMPLES: dict[type, Any] = {
    UUID: ORDER_NUMBER,
    int: 42,
    Decimal: Decimal("49.99"),
    str: "iphone_15",
    datetime: OCCURRED_AT,
}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run every test that takes ``event_class`` once per event of the contract."""
    if "event_class" in metafunc.fixturenames:
        metafunc.parametrize("event_class", ALL_EVENTS, ids=lambda cls: cls.event_type)


@pytest.fixture
def make_event() -> Callable[..., Event]:
    """Build an event of any class from fixed sample values, with keyword overrides."""

    def make(event_class: type[Event], **overrides: Any) -> Event:
        values = {spec.name: _SAMPLES[spec.type] for spec in event_fields(event_class)}
        values["event_id"] = EVENT_ID
        return event_class(**(values | overrides))

    return make
