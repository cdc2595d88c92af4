"""Prometheus metrics of the worker process (the web process has django-prometheus's)."""

from django.db.models import Count, Min
from django.utils import timezone
from prometheus_client import Counter, Gauge, Histogram

from .models import OutboxMessage

RECORDS_CONSUMED = Counter(
    "saga_records_consumed_total",
    "Records the consumer received, by topic, counted on arrival whatever becomes of them.",
    ["topic"],
)
RECORDS = Counter(
    "saga_records_total",
    "Outcomes of records, by topic: handled, duplicate, dead_lettered, and retried (once per "
    "failed attempt, so a record can count several times).",
    ["topic", "outcome"],
)
HANDLER_SECONDS = Histogram(
    "saga_handler_duration_seconds",
    "Time to apply one record: its handler and outbox writes, and its transaction when applied "
    "alone (a batch's commit is in saga_batch_duration_seconds). Records given to a handler as "
    "one list each count an equal share of its time.",
    ["topic"],
)
BATCHES = Counter(
    "saga_batches_total",
    "Batches of several records tried in one transaction: committed, or rolled_back (their "
    "records then applied one at a time).",
    ["outcome"],
)
BATCH_RECORDS = Histogram(
    "saga_batch_records",
    "Records in a committed batch.",
    buckets=(2, 5, 10, 20, 50, 100, 200, 500, 1000),
)
BATCH_SECONDS = Histogram(
    "saga_batch_duration_seconds",
    "Time to apply a committed batch: its transaction, from the first statement to the commit.",
)
CONSUMER_LAG = Gauge(
    "saga_consumer_lag",
    "Records behind the partition's end, as of the last poll.",
    ["topic", "partition"],
)
OUTBOX_PUBLISHED = Counter("saga_outbox_published_total", "Outbox rows sent to Kafka.")
OUTBOX_FAILURES = Counter("saga_outbox_failures_total", "Failed outbox relay passes (retried).")
OUTBOX_BACKLOG = Gauge("saga_outbox_backlog", "Outbox rows not yet sent.")
OUTBOX_OLDEST_AGE = Gauge(
    "saga_outbox_oldest_unsent_age_seconds", "Age of the oldest unsent outbox row (0: none)."
)


def record_outbox_backlog() -> None:
    backlog = OutboxMessage.objects.filter(sent_at__isnull=True).aggregate(
        count=Count("id"), oldest=Min("created_at")
    )
    OUTBOX_BACKLOG.set(backlog["count"])
    oldest = backlog["oldest"]
    OUTBOX_OLDEST_AGE.set((timezone.now() - oldest).total_seconds() if oldest else 0)
