"""Writing events to the transactional outbox."""

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection
from opentelemetry import propagate

from saga_events import Event
from saga_events.codec import encode

from .conf import get_config
from .models import OutboxMessage

#: The channel the relay LISTENs on. A trigger on the outbox table notifies it once per
#: transaction that wrote rows (migration 0002); PostgreSQL delivers a NOTIFY only when its
#: transaction commits, so the relay wakes exactly when there is something committed to send.
NOTIFY_CHANNEL = "saga_outbox"


class OutsideTransactionError(RuntimeError):
    pass


_batch = threading.local()


@contextmanager
def batched() -> Iterator[None]:
    """Inside the block (the worker's batch transaction), ``publish`` collects its rows and the
    block's end writes them with one INSERT, still inside the transaction; nothing is written if
    the block raises. Used by the consumer loop, which commits or rolls back the whole batch."""
    _batch.rows = []
    try:
        yield
        rows, _batch.rows = _batch.rows, None
        if rows:
            _insert(rows)
    finally:
        _batch.rows = None


def publish(event: Event) -> None:
    """Queue ``event`` for Kafka in the caller's transaction.

    The event leaves only if the transaction commits, and then at least once: the relay sends
    it with the order number as key, so all events of one order stay in order on one partition.
    The current trace context is captured here, not when the relay sends, so the event
    continues the trace of the request or record that caused it.
    """
    if not connection.in_atomic_block:
        raise OutsideTransactionError(
            f"publish({event.event_type}) must run inside transaction.atomic: an event "
            "written outside the transaction of its change could leave without it."
        )
    headers: dict[str, str] = {}
    propagate.inject(headers)
    row = (
        event.event_id,
        event.event_type,
        get_config().topic(type(event)),
        str(event.order_number),
        encode(event).decode(),
        json.dumps(headers),
    )
    rows = getattr(_batch, "rows", None)
    if rows is not None:
        rows.append(row)
    else:
        _insert([row])


def _insert(rows: list[tuple]) -> None:
    # One plain INSERT for all of them, in order (the relay sends by id): every saga step
    # writes here, and the ORM's create() cost three times as much CPU per row
    # (docs/decisions/0009).
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {OutboxMessage._meta.db_table} "
            "(event_id, event_type, topic, key, payload, headers, created_at) "
            "SELECT r.event_id, r.event_type, r.topic, r.key, r.payload, r.headers::jsonb, now() "
            "FROM unnest(%s::uuid[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[]) "
            "WITH ORDINALITY AS r(event_id, event_type, topic, key, payload, headers, n) "
            "ORDER BY r.n",
            [list(column) for column in zip(*rows, strict=True)],
        )
