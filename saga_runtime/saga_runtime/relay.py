"""The outbox relay: publishes committed outbox rows to Kafka, in order, and marks them sent."""

import json
import logging
import threading
import time
from contextlib import suppress

import psycopg
from confluent_kafka import KafkaError, KafkaException, Message, Producer
from django.db import (
    DatabaseError,
    InterfaceError,
    connection,
    transaction,
)

from . import metrics, tracing
from .db import ConnectionRefresher
from .listen import listen
from .models import OutboxMessage
from .outbox import NOTIFY_CHANNEL

logger = logging.getLogger(__name__)


class OutboxRelay:
    """Publishes outbox rows with an idempotent producer, at least once and in id order.

    A row's sent mark commits only after the broker acknowledged it (``acks=all``). A process
    killed between the acknowledgement and that commit sends the row again on restart; consumers
    drop the repeat by its ``eventId``.
    """

    def __init__(self, producer: Producer, *, batch_size: int = 500, flush_timeout: float = 30):
        self.producer = producer
        self.batch_size = batch_size
        self.flush_timeout = flush_timeout
        #: Set once :meth:`run` listens for commits.
        self.listening = threading.Event()

    def publish_pending(self) -> int:
        """Send one batch of unsent rows; return how many were sent (0: nothing to do).

        One statement claims the batch: it locks the oldest unsent rows in ``id`` order and
        marks them sent, and the transaction commits only once the broker has acknowledged
        every one of them; otherwise it rolls back and the rows stay unsent. A second relay of
        the same database (another worker replica) waits on the first row lock until this
        transaction ends, then finds those rows sent and goes on after them: batches never
        interleave, so an order's events keep their order, and no row goes twice.
        """
        table = OutboxMessage._meta.db_table
        with transaction.atomic(), connection.cursor() as cursor:
            # Plain rows, not models: the relay handles every event of the service.
            cursor.execute(
                f"UPDATE {table} SET sent_at = now() WHERE id IN ("
                f"SELECT id FROM {table} WHERE sent_at IS NULL ORDER BY id LIMIT %s FOR UPDATE"
                ") RETURNING id, event_id::text, event_type, topic, key, payload, headers::text",
                [self.batch_size],
            )
            rows = sorted(cursor.fetchall())
            if not rows:
                return 0
            failures: list[KafkaError] = []

            def on_delivery(error: KafkaError | None, _message: Message) -> None:
                if error is not None:
                    failures.append(error)

            for _id, event_id, event_type, topic, key, payload, headers in rows:
                with tracing.producer_span(
                    topic, json.loads(headers), order_number=key, event_id=event_id
                ) as sent_headers:
                    sent_headers |= {"eventType": event_type, "content-type": "application/json"}
                    self._produce(topic, key, payload, sent_headers, on_delivery)
            remaining = self.producer.flush(self.flush_timeout)
            if failures or remaining:
                # The rows' mark is rolled back; the whole batch goes again, in order.
                raise KafkaException(failures[0] if failures else "outbox flush timed out")
        metrics.OUTBOX_PUBLISHED.inc(len(rows))
        return len(rows)

    def _produce(
        self, topic: str, key: str, payload: str, headers: dict[str, str], on_delivery
    ) -> None:
        while True:
            try:
                self.producer.produce(
                    topic,
                    key=key.encode(),
                    value=payload.encode(),
                    headers=list(headers.items()),
                    on_delivery=on_delivery,
                )
                return
            except BufferError:
                # The local queue is full: let deliveries drain, then go on with the same row.
                self.producer.poll(0.5)

    def publish_all(self) -> int:
        """Send batches until none is left; return the total sent."""
        total = 0
        while True:
            sent = self.publish_pending()
            total += sent
            if sent < self.batch_size:  # a short batch took every row committed before it
                return total

    def run(self, stop: threading.Event, *, poll_seconds: float, backoff_max: float) -> None:
        """Publish until ``stop`` is set: on every commit NOTIFY, and every ``poll_seconds``.

        The timed pass also sends what a lost notification (a dropped LISTEN connection)
        would otherwise leave behind. Failures are retried with backoff, never given up.
        """
        delay = 0.5
        refresh_connection = ConnectionRefresher()
        listener: psycopg.Connection | None = None
        gauge_due = 0.0
        try:
            while not stop.is_set():
                try:
                    refresh_connection()
                    if listener is None or listener.closed:
                        listener = listen(NOTIFY_CHANNEL)
                        self.listening.set()
                    self.publish_all()
                    if time.monotonic() >= gauge_due:  # a scrape's worth, not every pass
                        metrics.record_outbox_backlog()
                        gauge_due = time.monotonic() + 1
                    delay = 0.5
                    for _ in listener.notifies(timeout=poll_seconds, stop_after=1):
                        pass
                    # Commits notified so far are all covered by the next pass: one pass for
                    # a burst of notifications, not one each.
                    for _ in listener.notifies(timeout=0):
                        pass
                except Exception:
                    logger.exception("outbox relay failed; retrying in %.1fs", delay)
                    metrics.OUTBOX_FAILURES.inc()
                    if listener is not None:
                        listener.close()
                    # With the broker down the backlog grows: that is when its gauge matters.
                    with suppress(DatabaseError, InterfaceError):
                        metrics.record_outbox_backlog()
                    stop.wait(delay)
                    delay = min(delay * 2, backoff_max)
        finally:
            if listener is not None:
                listener.close()
            connection.close()
