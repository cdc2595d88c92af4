"""Reading orders for the API: who may see which, and one order with its history.

Every saga's client reads its order back once it has ended, so that read is one plain statement
rather than the ORM's two (the order, then its history): building and compiling those two
queries was a quarter of the order service's CPU per saga (docs/decisions/0019).
"""

from django.db import connection
from django.db.models import QuerySet

from .models import Order, OrderHistory


def visible_orders(user, queryset: QuerySet) -> QuerySet:
    """The orders ``user`` may see: all of them for staff, their own for anyone else."""
    return queryset if user.is_staff else queryset.filter(owner=user)


# The same rule as visible_orders, for the statements below.
_VISIBLE = "(%(staff)s OR o.owner_id = %(user_id)s)"

_ORDER_FIELDS = Order._meta.concrete_fields
_HISTORY_FIELDS = OrderHistory._meta.concrete_fields
_ORDER_ATTNAMES = [field.attname for field in _ORDER_FIELDS]
_HISTORY_ATTNAMES = [field.attname for field in _HISTORY_FIELDS]
_ORDER_WITH_HISTORY = f"""
    SELECT {", ".join(f'o."{field.column}"' for field in _ORDER_FIELDS)},
           {", ".join(f'h."{field.column}"' for field in _HISTORY_FIELDS)}
    FROM {Order._meta.db_table} o
    LEFT JOIN {OrderHistory._meta.db_table} h ON h.order_id = o.id
    WHERE o.id = %(order_id)s AND {_VISIBLE}
    ORDER BY h.occurred_at, h.id
"""
_ORDER_STATUS = (
    f"SELECT o.status FROM {Order._meta.db_table} o WHERE o.id = %(order_id)s AND {_VISIBLE}"
)


def _params(order_id: int, user) -> dict:
    return {"order_id": order_id, "staff": user.is_staff, "user_id": user.pk}


def order_with_history(*, order_id: int, user) -> Order | None:
    """Order ``order_id`` with its history lines in ``history_lines`` (oldest first), read in
    one statement; None if there is no such order or ``user`` may not see it."""
    with connection.cursor() as cursor:
        cursor.execute(_ORDER_WITH_HISTORY, _params(order_id, user))
        rows = cursor.fetchall()
    if not rows:
        return None
    split = len(_ORDER_FIELDS)
    order = Order.from_db(connection.alias, _ORDER_ATTNAMES, rows[0][:split])
    order.history_lines = [
        OrderHistory.from_db(connection.alias, _HISTORY_ATTNAMES, row[split:])
        for row in rows
        if row[split] is not None  # the order's row alone, when it has no history yet
    ]
    return order


def order_status(*, order_id: int, user) -> str | None:
    """Order ``order_id``'s status; None if there is no such order or ``user`` may not see it."""
    with connection.cursor() as cursor:
        cursor.execute(_ORDER_STATUS, _params(order_id, user))
        row = cursor.fetchone()
    return row[0] if row else None
