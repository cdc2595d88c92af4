"""``manage.py consume_saga`` as a real process: SIGTERM (or Ctrl-C's SIGINT) mid-stream,
restart, nothing lost or applied twice."""

import dataclasses
import os
import signal
import subprocess
import sys
import uuid
from decimal import Decimal
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient
from django.db import connection
from testapp.models import Ledger

from saga_events import OrderPlacedEvent
from saga_runtime.models import OutboxMessage, ProcessedEvent
from saga_runtime.outbox import NOTIFY_CHANNEL
from saga_runtime.testing import KafkaTestClient, closed_port, committed_offsets, wait_for
from saga_runtime.topics import create_topics

pytestmark = pytest.mark.django_db(transaction=True)

TESTS_DIR = Path(__file__).parent


def start_worker(env: dict[str, str], log: Path, *options: str) -> subprocess.Popen:
    """``manage.py consume_saga`` with ``options``, its output in ``log``."""
    # A file, not a pipe: a pipe nobody reads fills up and blocks the worker's logging.
    with log.open("w") as output:
        return subprocess.Popen(
            [sys.executable, "manage.py", "consume_saga", "--port", "0", *options],
            cwd=TESTS_DIR,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )


def stop_worker(process: subprocess.Popen, log: Path, stop: int = signal.SIGTERM) -> str:
    process.send_signal(stop)
    process.wait(timeout=60)
    output = log.read_text()
    assert process.returncode == 0, output[-5000:]
    return output


def orders_on_private_topics(
    saga_config, name: str, count: int, *, batch_max_records: int
) -> tuple[list[OrderPlacedEvent], dict[str, str]]:
    """``count`` OrderPlaced events sent to topics of the test's own; the environment of a worker
    process that consumes them, in a group of its own, into the test database."""
    config = dataclasses.replace(saga_config, topic_prefix=f"{saga_config.topic_prefix}{name}-")
    create_topics(config)
    kafka = KafkaTestClient(config)
    events = [
        OrderPlacedEvent.new(
            order_id=n, order_number=uuid.uuid4(), sku_code="S", price=Decimal("1.00"), quantity=1
        )
        for n in range(1, count + 1)
    ]
    for event in events:
        kafka.send_event(event)
    kafka.close()
    db = connection.settings_dict
    env = os.environ | {
        "SAGA_TOPIC_PREFIX": config.topic_prefix,
        "SAGA_CONSUMER_GROUP": f"{name}-{uuid.uuid4().hex}",
        "SAGA_BATCH_MAX_RECORDS": str(batch_max_records),
        "DATABASE_URL": f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/"
        f"{db['NAME']}",
    }
    return events, env


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_stop_signal_mid_stream_then_restart_loses_and_duplicates_nothing(
    saga_config, tmp_path, stop
):
    # Small batches, so that the stream takes several and the signal lands between two.
    events, env = orders_on_private_topics(saga_config, stop.name.lower(), 200, batch_max_records=5)

    first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
    worker = start_worker(env, first_log)
    wait_for(lambda: Ledger.objects.count() >= 20, timeout=60, message="the worker to start")
    output = stop_worker(worker, first_log, stop)
    assert "worker stopped" in output
    stopped_at = Ledger.objects.count()
    assert stopped_at < len(events), "stopped too late to show anything"

    restarted = start_worker(env, second_log)
    try:
        wait_for(lambda: Ledger.objects.count() >= len(events), timeout=120, message="all events")
        wait_for(lambda: not OutboxMessage.objects.filter(sent_at__isnull=True).exists())
    finally:
        restarted_output = stop_worker(restarted, second_log)

    # The first worker committed the batch it had in hand: the second starts right after it.
    assert '"outcome": "duplicate"' not in restarted_output
    applied = list(Ledger.objects.values_list("order_number", flat=True))
    assert sorted(applied) == sorted(e.order_number for e in events)
    assert ProcessedEvent.objects.count() == len(events)
    assert OutboxMessage.objects.count() == len(events)


def committed(config, group: str, topic: str) -> int:
    """How many of ``topic``'s records ``group`` has committed, all partitions together (the
    topics of these tests start at offset 0)."""
    return sum(tp.offset for tp in committed_offsets(config, group, topic))


def group_members(config, group: str) -> int:
    """How many consumers are members of ``group`` now."""
    admin = AdminClient(config.admin_config())
    [answer] = admin.describe_consumer_groups([group], request_timeout=10).values()
    return len(answer.result().members)


def relay_listening() -> bool:
    """Another session of this database LISTENs for outbox commits: an outbox relay runs."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND query = %s",
            [f"LISTEN {NOTIFY_CHANNEL}"],
        )
        return cursor.fetchone()[0] > 0


def test_the_worker_command_consumes_in_the_group_given_and_with_no_relay_leaves_the_outbox(
    saga_config, tmp_path
):
    events, env = orders_on_private_topics(saga_config, "options", 5, batch_max_records=200)
    config = dataclasses.replace(saga_config, topic_prefix=env["SAGA_TOPIC_PREFIX"])
    topic, default_group = config.topic(OrderPlacedEvent), env["SAGA_CONSUMER_GROUP"]
    group = f"given-{uuid.uuid4().hex}"

    log = tmp_path / "no-relay.log"
    worker = start_worker(env, log, "--group", group, "--no-relay")
    try:
        wait_for(lambda: Ledger.objects.count() >= len(events), timeout=60, message="all events")
        assert group_members(config, group) == 1
        # Applied, its outgoing events written to the outbox, and no relay there to send them
        # (a relay LISTENs from before the worker's first record).
        assert OutboxMessage.objects.count() == len(events)
        assert not relay_listening()
    finally:
        stop_worker(worker, log)
    assert not OutboxMessage.objects.filter(sent_at__isnull=False).exists()
    assert committed(config, group, topic) == len(events)
    assert committed(config, default_group, topic) == 0

    # Without the options: the default group, and the relay sends what the first one left.
    log = tmp_path / "default.log"
    worker = start_worker(env, log)
    try:
        wait_for(relay_listening, timeout=60, message="the relay to listen")
        wait_for(lambda: not OutboxMessage.objects.filter(sent_at__isnull=True).exists())
        wait_for(lambda: committed(config, default_group, topic) == len(events))
    finally:
        stop_worker(worker, log)
    assert committed(config, group, topic) == len(events)


def inside_a_batch() -> bool:
    """Another session of this database is in a transaction that has written a ledger or outbox
    row and not yet committed: a worker in the middle of a batch."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND xact_start IS NOT NULL "
            r"AND query ~ '^INSERT INTO \"?(testapp_ledger|saga_runtime_outboxmessage)\"? '"
        )
        return cursor.fetchone()[0] > 0


def test_kill_9_mid_batch_then_restart_loses_and_duplicates_nothing(saga_config, tmp_path):
    events, env = orders_on_private_topics(saga_config, "kill", 400, batch_max_records=50)

    worker = start_worker(env, tmp_path / "killed.log")
    try:
        wait_for(inside_a_batch, timeout=60, message="the worker to be inside a batch")
    finally:
        worker.kill()
        worker.wait(timeout=30)
    assert Ledger.objects.count() < len(events), "killed too late to show anything"

    second_log = tmp_path / "second.log"
    restarted = start_worker(env, second_log)
    try:
        wait_for(lambda: Ledger.objects.count() >= len(events), timeout=120, message="all events")
        wait_for(lambda: not OutboxMessage.objects.filter(sent_at__isnull=True).exists())
    finally:
        stop_worker(restarted, second_log)

    applied = list(Ledger.objects.values_list("order_number", flat=True))
    assert sorted(applied) == sorted(e.order_number for e in events)
    assert ProcessedEvent.objects.count() == len(events)
    assert OutboxMessage.objects.count() == len(events)
    # Every event went out, each once from the outbox (a resend would be absorbed downstream).
    assert sorted(OutboxMessage.objects.values_list("key", flat=True)) == sorted(
        str(e.order_number) for e in events
    )


def test_a_worker_that_keeps_failing_exits_non_zero_for_its_supervisor(saga_config, tmp_path):
    config = dataclasses.replace(saga_config, topic_prefix=f"{saga_config.topic_prefix}down-")
    create_topics(config)
    KafkaTestClient(config).send_event(
        OrderPlacedEvent.new(
            order_id=1, order_number=uuid.uuid4(), sku_code="S", price=Decimal("1.00"), quantity=1
        )
    )
    env = os.environ | {
        "SAGA_TOPIC_PREFIX": config.topic_prefix,
        "SAGA_CONSUMER_GROUP": f"down-{uuid.uuid4().hex}",
        # A port nothing listens on: the database is down.
        "DATABASE_URL": f"postgres://order:order@127.0.0.1:{closed_port()}/nowhere",
        "SAGA_MAX_CONSECUTIVE_FAILURES": "3",
    }
    log = tmp_path / "worker.log"

    worker = start_worker(env, log)
    worker.wait(timeout=120)

    output = log.read_text()
    assert worker.returncode == 1, output[-3000:]
    assert "Worker gave up: 3 failed attempts in a row" in output
    assert "dead_lettered" not in output  # a transient failure is never dead-lettered
