import pytest
from django.db import OperationalError, connection

from saga_runtime.db import ConnectionRefresher
from saga_runtime.listen import listen

pytestmark = pytest.mark.django_db(transaction=True)


def kill_own_connection() -> None:
    """Terminate the backend of Django's connection from another one, as a restart would."""
    pid = connection.connection.info.backend_pid
    with listen("unused") as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])


def query() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        return cursor.fetchone()[0]


def test_a_connection_that_died_is_noticed_by_the_error_and_replaced_at_the_next_call():
    refresh = ConnectionRefresher(every=3600)
    refresh()
    query()
    kill_own_connection()

    refresh()  # within its interval: no health check, so the dead connection is kept
    with pytest.raises(OperationalError):
        query()
    refresh()  # after an error: checked, found dead, dropped

    assert query() == 1


def test_a_connection_is_health_checked_once_its_interval_has_passed():
    refresh = ConnectionRefresher(every=0)
    refresh()
    query()
    kill_own_connection()

    refresh()

    assert query() == 1
