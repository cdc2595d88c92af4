"""Database helpers: a loop's connection kept fresh, and an insert that happens at most once."""

import time

from django.db import close_old_connections, connection, models, reset_queries


class ConnectionRefresher:
    """Called before each unit of a loop's work (a batch, a relay pass), in the loop's thread.

    Like Django between two web requests it drops the thread's connection if it outlived
    ``CONN_MAX_AGE`` or failed, and health-checks it (``CONN_HEALTH_CHECKS``: a ``SELECT 1``
    before the next statement); but that at most every ``every`` seconds, and at once after a
    database error. A loop under load runs many units a second, and a check before each one
    was a round trip per batch and per relay pass: about a dozen per saga
    (docs/decisions/0018). A connection that dies between two checks fails one unit with an
    ``OperationalError``, which the loop retries as the transient failure it is; the error
    makes the next call check, and drop, the connection.
    """

    def __init__(self, every: float = 1.0) -> None:
        self.every = every
        self._due = 0.0

    def __call__(self) -> None:
        reset_queries()
        now = time.monotonic()
        if now >= self._due or connection.errors_occurred:
            close_old_connections()
            self._due = now + self.every


def insert_once(instance: models.Model) -> bool:
    """Insert ``instance`` unless its table has a row with one of its unique values (an order's
    one charge, its one shipment), in one statement: ``INSERT ... ON CONFLICT DO NOTHING``.

    Returns True, with ``instance.pk`` set, if it was inserted; False, with nothing written, if
    such a row is there, or is being inserted by a transaction that then commits (the insert
    waits for it to end). The ORM's look-then-create was two statements, and a race between
    the two ended in an IntegrityError and a retry (docs/decisions/0018). Like ``bulk_create``
    it sends no model signals. Run it inside the caller's transaction.
    """
    meta = instance._meta
    fields = [field for field in meta.concrete_fields if not field.primary_key or instance.pk]
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "
            f"VALUES ({', '.join(['%s'] * len(fields))}) "
            f"ON CONFLICT DO NOTHING RETURNING {quote(meta.pk.column)}",
            [
                field.get_db_prep_save(field.pre_save(instance, True), connection)
                for field in fields
            ],
        )
        row = cursor.fetchone()
    if row is None:
        return False
    instance.pk = row[0]
    instance._state.adding, instance._state.db = False, connection.alias
    return True
