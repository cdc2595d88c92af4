"""Wake the relay once per committing transaction that wrote outbox rows, from the database.

A deferred constraint trigger fires at commit, for rows that survived (a row whose savepoint
rolled back fires nothing), and PostgreSQL folds identical notifications of one transaction
into one: so one NOTIFY per transaction, whoever wrote the rows, with no statement of its own
in the writer's transaction.
"""

from django.db import migrations

CHANNEL = "saga_outbox"  # saga_runtime.outbox.NOTIFY_CHANNEL as of this migration

CREATE = f"""
CREATE FUNCTION saga_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('{CHANNEL}', '');
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER saga_outbox_notify
    AFTER INSERT ON saga_runtime_outboxmessage
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION saga_outbox_notify();
"""

DROP = """
DROP TRIGGER saga_outbox_notify ON saga_runtime_outboxmessage;
DROP FUNCTION saga_outbox_notify();
"""


class Migration(migrations.Migration):
    dependencies = [("saga_runtime", "0001_initial")]

    operations = [migrations.RunSQL(CREATE, DROP)]
