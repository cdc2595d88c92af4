"""Undoing a failed order's effect, or making sure it never happens, in one race-safe rule."""

from collections.abc import Callable
from typing import TypeVar

from django.db import IntegrityError, models, transaction

T = TypeVar("T")


def undo_or_forbid(
    *, undo: Callable[[], T | None], model: type[models.Model], marker: dict
) -> T | models.Model | None:
    """Undo the order's effect, or, if the request for it has not been applied yet, insert
    ``marker`` (a row of ``model`` for the order) so that a late request finds a row and does
    nothing. Returns what ``undo`` returned, the marker, or None if nothing changed.

    ``model`` must hold at most one row per order (a unique ``order_number``), and the request's
    handler must leave an order that already has a row alone. The request and this travel on
    different topics, so either may come first; the unique key settles a race: whichever insert
    loses sees the other's row. Run inside the caller's transaction.
    """
    if undone := undo():
        return undone
    if model.objects.filter(order_number=marker["order_number"]).exists():
        # Undone already, or the effect was applied since ``undo`` looked: look again.
        return undo()
    try:
        with transaction.atomic():
            return model.objects.create(**marker)
    except IntegrityError:
        # The request was applied meanwhile (and committed first): undo what it did.
        return undo()
