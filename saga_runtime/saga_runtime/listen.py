"""A connection of its own that LISTENs on a PostgreSQL channel, for threads that wait on NOTIFY."""

import psycopg
from django.db import connection


def listen(channel: str) -> psycopg.Connection:
    """A new autocommit connection to the default database, listening on ``channel``.

    Not Django's connection: a LISTEN must stay open between transactions, and waiting for
    notifications must not hold the connection the thread's queries use. The caller closes it.
    """
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    listener = psycopg.connect(**params, autocommit=True)
    listener.execute(f"LISTEN {channel}")
    return listener
