"""The runtime's tables kept to ``SAGA_RETENTION_DAYS``: every worker deletes processed-event
rows and sent outbox rows older than that once an hour (``SAGA_PURGE_INTERVAL_SECONDS``), and
``manage.py purge_saga_tables`` does it on demand."""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from .conf import get_config
from .models import OutboxMessage, ProcessedEvent


@transaction.atomic
def purge_saga_tables(*, days: int | None = None) -> tuple[int, int]:
    """Delete processed-event rows and sent outbox rows older than ``days`` (default:
    ``SAGA_RETENTION_DAYS``); return how many of each. An unsent outbox row is never deleted.

    Safe to run in several workers at once: a row is deleted by one of them. A record
    redelivered after its processed-event row is gone would be applied again, so the retention
    must be longer than a record can wait in Kafka (the topics' retention).
    """
    days = get_config().retention_days if days is None else days
    cutoff = timezone.now() - timedelta(days=days)
    processed, _ = ProcessedEvent.objects.filter(processed_at__lt=cutoff).delete()
    sent, _ = OutboxMessage.objects.filter(sent_at__lt=cutoff).delete()
    return processed, sent
