"""Notify ``saga_order_ended`` (payload: the order's id) from the database when an order moves
to a terminal status, for the requests long-polling ``GET /api/orders/{id}?wait=``
(orders.waiting).

A trigger rather than a statement of the saga step: one round trip less for every saga, and
every writer of the status notifies, whatever code path it takes. PostgreSQL delivers the
notification when, and only if, the transaction commits.
"""

from django.db import migrations

CHANNEL = "saga_order_ended"  # orders.waiting.ORDER_ENDED as of this migration
# orders.models.TERMINAL_STATUSES as of this migration.
TERMINAL = "'SHIPPED', 'FAILED', 'PAYMENT_FAILED', 'SHIPMENT_FAILED'"

CREATE = f"""
CREATE FUNCTION orders_order_ended_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('{CHANNEL}', NEW.id::text);
    RETURN NULL;
END $$;
CREATE TRIGGER orders_order_ended_notify
    AFTER UPDATE OF status ON orders_order
    FOR EACH ROW
    WHEN (NEW.status IN ({TERMINAL})
          AND OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION orders_order_ended_notify();
"""

DROP = """
DROP TRIGGER orders_order_ended_notify ON orders_order;
DROP FUNCTION orders_order_ended_notify();
"""


class Migration(migrations.Migration):
    dependencies = [("orders", "0003_owner_and_idempotency_keys")]

    operations = [migrations.RunSQL(CREATE, DROP)]
