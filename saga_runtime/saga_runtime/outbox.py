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
        str(event.event_id),
        event.event_type,
        get_config().topic(type(event)),
        str(event.order_number),
        encode(event).decode(),
        headers,
    )
    rows = getattr(_batch, "rows", None)
    if rows is not None:
        rows.append(row)
    else:
        _insert([row])


def _insert(rows: list[tuple]) -> None:
    # One plain INSERT for all of them, in order (the relay sends by id): every saga step
    # writes here, and the ORM's create() cost three times as much CPU per row
    # (docs/decisions/0009). The rows travel as one JSON array: json.dumps is C, where
    # binding six arrays costs the client a Python call per element (docs/decisions/0015).
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {OutboxMessage._meta.db_table} "
            "(event_id, event_type, topic, key, payload, headers, created_at) "
            "SELECT (r->>0)::uuid, r->>1, r->>2, r->>3, r->>4, (r->5)::jsonb, now() "
            "FROM json_array_elements(%s::json) WITH ORDINALITY AS t(r, n) ORDER BY t.n",
            [json.dumps(rows)],
        )
