"""Handlers that take a list: every consecutive record of their event type in a batch at once.

A handler takes one event, unless it is marked with :func:`takes_list`. Then the worker hands it
the fresh records of its type that stand next to each other in a batch, as one list in their
order, and a record applied alone as a list of one. Such a handler can send the statements of
the whole list in one round trip (docs/decisions/0016), and must do exactly what handling each
event in turn would.
"""

from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from contextvars import ContextVar
from typing import TypeVar
from uuid import UUID

from saga_events import Event

#: While a list handler runs: each of its events' id → the scope of the record that carried it.
_scopes: ContextVar[Mapping[UUID, Callable[[], AbstractContextManager]] | None] = ContextVar(
    "saga_record_scopes", default=None
)

H = TypeVar("H", bound=Callable)


def takes_list(handler: H) -> H:
    """Mark ``handler`` as taking a list of events instead of one."""
    handler.takes_list = True
    return handler


def takes_list_of(handler: Callable) -> bool:
    return getattr(handler, "takes_list", False)


@contextmanager
def scopes(by_event_id: Mapping[UUID, Callable[[], AbstractContextManager]]) -> Iterator[None]:
    """Used by the worker around a list handler: what :func:`record_of` enters for each event."""
    token = _scopes.set(by_event_id)
    try:
        yield
    finally:
        _scopes.reset(token)


def record_of(event: Event) -> AbstractContextManager:
    """Inside a list handler, the scope of the record that carried ``event``: its trace (so the
    events published inside continue it) and its log fields. Anywhere else, nothing: the record
    or request being handled is already current."""
    scope = (_scopes.get() or {}).get(event.event_id)
    return scope() if scope is not None else nullcontext()
