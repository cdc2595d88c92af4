"""Waiting for an order to end without polling: ``GET /api/orders/{id}?wait=N`` and
``POST /api/orders?wait=N``.

A trigger (migration 0004) notifies ``ORDER_ENDED`` (payload: the order's id) when an order
moves to a terminal status, so PostgreSQL delivers it exactly when that commit does. Each web
process keeps one LISTEN connection, in a thread started by the first waiting request, and wakes
the requests waiting for that order. A waiter is registered *before* the request reads the order
again, so an order that ends in between is not missed; a lost connection only makes waiters wait
out their timeout and then answer with the order as it is.
"""

import logging
import threading
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

from saga_runtime.listen import listen

from .models import TERMINAL_STATUSES
from .selectors import order_status

logger = logging.getLogger(__name__)

ORDER_ENDED = "saga_order_ended"


class OrderEndWatcher:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiters: dict[str, set[threading.Event]] = defaultdict(set)
        self._listening = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    @contextmanager
    def waiting_for(self, order_id: int, *, timeout: float) -> Iterator[threading.Event]:
        """An event set when order ``order_id`` ends; registered on entry, removed on exit.

        Returns once the LISTEN is in place (or after ``timeout`` if it cannot be).
        """
        ended = threading.Event()
        key = str(order_id)
        with self._lock:
            self._waiters[key].add(ended)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._listen, name="order-end-watcher", daemon=True
                )
                self._thread.start()
        try:
            self._listening.wait(timeout)
            yield ended
        finally:
            with self._lock:
                self._waiters[key].discard(ended)
                if not self._waiters[key]:
                    del self._waiters[key]

    def stop(self) -> None:
        """Close the LISTEN connection and end its thread (a later wait starts a new one)."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._stopping.set()
            thread.join(10)
            self._stopping.clear()

    def _listen(self) -> None:
        delay = 0.5
        while not self._stopping.is_set():
            try:
                with listen(ORDER_ENDED) as listener:
                    self._listening.set()
                    delay = 0.5
                    while not self._stopping.is_set():
                        for notify in listener.notifies(timeout=1.0):
                            self._wake(notify.payload)
            except psycopg.Error as error:
                logger.warning("order end watcher lost its connection (%s); reconnecting", error)
                self._stopping.wait(delay)
                delay = min(delay * 2, 15)
            finally:
                self._listening.clear()

    def _wake(self, order_id: str) -> None:
        with self._lock:
            waiters = list(self._waiters.get(order_id, ()))
        for ended in waiters:
            ended.set()


watcher = OrderEndWatcher()


def wait_for_end(*, order_id: int, user, timeout: float) -> None:
    """Return once order ``order_id`` has ended (at once if it has, or if ``user`` may not see
    it), or after ``timeout`` seconds."""
    # The waiter is registered before the status is read, so an end in between wakes it.
    with watcher.waiting_for(order_id, timeout=timeout) as ended:
        status = order_status(order_id=order_id, user=user)
        if status is not None and status not in TERMINAL_STATUSES:
            ended.wait(timeout)
