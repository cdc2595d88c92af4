"""Keeping a long-running loop's database connection fresh, as Django does between requests."""

import time

from django.db import close_old_connections, connection, reset_queries


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
