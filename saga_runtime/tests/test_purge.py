"""Purging the runtime's tables, by command and by the worker, against the real database."""

import dataclasses
import threading
import uuid
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from saga_runtime.models import OutboxMessage, ProcessedEvent
from saga_runtime.testing import wait_for
from saga_runtime.worker import SagaWorker, load_handlers

pytestmark = pytest.mark.django_db


def outbox_row(*, sent_days_ago: int | None) -> OutboxMessage:
    sent_at = None if sent_days_ago is None else timezone.now() - timedelta(days=sent_days_ago)
    return OutboxMessage.objects.create(
        event_id=uuid.uuid4(), event_type="E", topic="t", key="k", payload="{}", sent_at=sent_at
    )


def test_purge_deletes_old_processed_events_and_sent_outbox_rows_only():
    old = ProcessedEvent.objects.create(consumer="c", event_id=uuid.uuid4(), topic="t")
    ProcessedEvent.objects.filter(pk=old.pk).update(processed_at=timezone.now() - timedelta(days=8))
    recent = ProcessedEvent.objects.create(consumer="c", event_id=uuid.uuid4(), topic="t")
    old_sent, recent_sent = outbox_row(sent_days_ago=8), outbox_row(sent_days_ago=1)
    unsent = outbox_row(sent_days_ago=None)
    OutboxMessage.objects.filter(pk=unsent.pk).update(
        created_at=timezone.now() - timedelta(days=30)
    )

    call_command("purge_saga_tables", days=7)

    assert list(ProcessedEvent.objects.values_list("pk", flat=True)) == [recent.pk]
    assert set(OutboxMessage.objects.values_list("pk", flat=True)) == {recent_sent.pk, unsent.pk}
    assert old_sent.pk not in set(OutboxMessage.objects.values_list("pk", flat=True))


@pytest.mark.django_db(transaction=True)
def test_a_worker_purges_its_tables_on_its_own(saga_config):
    old = ProcessedEvent.objects.create(consumer="c", event_id=uuid.uuid4(), topic="t")
    ProcessedEvent.objects.filter(pk=old.pk).update(processed_at=timezone.now() - timedelta(days=8))
    old_sent, recent_sent = outbox_row(sent_days_ago=8), outbox_row(sent_days_ago=1)
    config = dataclasses.replace(saga_config, purge_interval_seconds=0.2)
    worker = SagaWorker(load_handlers(config.handlers_path), config=config, group="purge")
    running = threading.Thread(target=worker.run, kwargs={"relay": False})
    running.start()
    try:
        wait_for(
            lambda: (
                not ProcessedEvent.objects.filter(pk=old.pk).exists()
                and not OutboxMessage.objects.filter(pk=old_sent.pk).exists()
            ),
            message="the worker to purge the old rows",
        )
    finally:
        worker.stop()
        running.join(30)

    assert OutboxMessage.objects.filter(pk=recent_sent.pk).exists()
