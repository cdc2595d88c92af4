"""Saga outcomes, deadlines and compensations, counted where the order service records them."""

from django.db import transaction
from django.utils import timezone
from prometheus_client import Counter, Histogram

SAGAS_ENDED = Counter("saga_ended_total", "Sagas that reached a terminal status.", ["status"])
SAGA_SECONDS = Histogram(
    "saga_duration_seconds",
    "Time from an order's placement to its terminal status.",
    ["status"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300),
)
IGNORED_EVENTS = Counter(
    "saga_ignored_events_total",
    "Events that did not fit the order's state (duplicates, out of order) or named no order.",
    ["reason"],
)

SAGAS_EXPIRED = Counter(
    "saga_expired_total",
    "Orders whose saga deadline passed, by the status they were in (SAGA_DEADLINE_SECONDS).",
    ["from_status"],
)
COMPENSATIONS_FAILED = Counter(
    "saga_compensation_failed_total",
    "Compensation steps (release, refund) not confirmed before the deadline.",
    ["step"],
)
COMPENSATIONS_COMPLETED_LATE = Counter(
    "saga_compensation_completed_late_total",
    "Compensations confirmed after they had been marked failed (for example after a replay).",
)


def saga_ended(order) -> None:
    """Count the order's saga as ended once (and only if) the transaction commits."""
    seconds = (timezone.now() - order.created_at).total_seconds()

    def record() -> None:
        SAGAS_ENDED.labels(order.status).inc()
        SAGA_SECONDS.labels(order.status).observe(seconds)

    transaction.on_commit(record)
