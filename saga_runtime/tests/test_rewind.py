"""Rewinding a consumer group, against the real broker and database: after a restore from
backup, the records consumed again are applied only where the database lacks them; a running
group, a partition or offset that does not exist, and an offset the group has not passed are
refused (docs/decisions/0024)."""

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from django.core.management import CommandError, call_command
from testapp.models import Ledger

from saga_events import OrderPlacedEvent
from saga_events.codec import encode
from saga_runtime.conf import get_config
from saga_runtime.models import OutboxMessage, ProcessedEvent
from saga_runtime.rewind import RewindRefused, rewind_group
from saga_runtime.testing import committed_offsets, run_worker_until, wait_for
from saga_runtime.topics import create_topics
from saga_runtime.worker import SagaWorker, load_handlers

pytestmark = pytest.mark.django_db(transaction=True)


def order(amount: str) -> OrderPlacedEvent:
    return OrderPlacedEvent.new(
        order_id=1, order_number=uuid.uuid4(), sku_code="S", price=Decimal(amount), quantity=1
    )


def send_at(config, event: OrderPlacedEvent, at: datetime, partition: int = 0) -> None:
    """Produce ``event`` to ``partition`` of its topic with the record timestamp ``at``."""
    producer = Producer(config.producer_config())
    producer.produce(
        config.topic(OrderPlacedEvent),
        encode(event),
        key=str(event.order_number).encode(),
        partition=partition,
        timestamp=int(at.timestamp() * 1000),
        headers=[("eventType", event.event_type)],
    )
    assert producer.flush(30) == 0


def group_is_empty(config, group: str) -> bool:
    """Whether ``group`` has no members, as the broker sees it now."""
    from confluent_kafka.admin import AdminClient

    admin = AdminClient(config.admin_config())
    [answer] = admin.describe_consumer_groups([group], request_timeout=10).values()
    return not answer.result(30).members


@pytest.fixture
def config(saga_config, settings):
    """The session's config on topics of the test's own (the commands read it from the
    settings), so each test knows every record on them, and they reach no other test's worker."""
    settings.SAGA_TOPIC_PREFIX = f"{saga_config.topic_prefix}rewind-{uuid.uuid4().hex[:8]}-"
    config = get_config()
    create_topics(config)
    return config


def test_a_group_rewound_to_a_time_applies_again_only_what_the_database_lost(config):
    group = f"rewind-{uuid.uuid4().hex}"
    backup_taken = datetime.now(UTC) - timedelta(minutes=10)
    before, kept, lost = order("1.00"), order("2.00"), order("3.00")
    send_at(config, before, backup_taken - timedelta(minutes=5))
    send_at(config, kept, backup_taken - timedelta(seconds=30))
    send_at(config, lost, backup_taken + timedelta(minutes=1))
    orders = [before.order_number, kept.order_number, lost.order_number]

    worker = SagaWorker(load_handlers(config.handlers_path), config=config, group=group)
    try:
        run_worker_until(
            worker,
            lambda: Ledger.objects.filter(order_number__in=orders).count() == 3,
            message="the three orders applied",
        )
    finally:
        worker.close()
    # The restore: what the record after the backup did is gone, with its processed-events row.
    Ledger.objects.filter(order_number=lost.order_number).delete()
    ProcessedEvent.objects.filter(event_id=lost.event_id).delete()
    OutboxMessage.objects.filter(key=str(lost.order_number)).delete()
    wait_for(lambda: group_is_empty(config, group), message="the worker gone from its group")

    [rewind] = [
        r
        for r in rewind_group(
            config,
            [config.topic(OrderPlacedEvent)],
            group=group,
            to_time=backup_taken - timedelta(minutes=1),
        )
        if r.partition == 0
    ]
    assert (rewind.committed, rewind.offset) == (3, 1)  # back to `kept`, not to `before`

    worker = SagaWorker(load_handlers(config.handlers_path), config=config, group=group)
    outcomes = []

    def consumed_again() -> bool:
        outcomes.extend(outcome for outcome in worker.poll_once(timeout=0.2) if outcome)
        return len(outcomes) >= 2

    try:
        wait_for(consumed_again, message="the two records after that time consumed again")
    finally:
        worker.close()
    assert sorted(outcomes) == ["duplicate", "handled"]
    assert sorted(
        Ledger.objects.filter(order_number__in=orders).values_list("amount", flat=True)
    ) == [Decimal("1.00"), Decimal("2.00"), Decimal("3.00")]
    assert OutboxMessage.objects.filter(key=str(lost.order_number)).count() == 1


@pytest.fixture
def committed_group(config):
    """A group of its own that has committed the end of partition 0 of the order-placed topic,
    after two more records; returns (group, that end)."""
    topic = config.topic(OrderPlacedEvent)
    for _ in range(2):
        send_at(config, order("1.00"), datetime.now(UTC))
    group = f"rewind-{uuid.uuid4().hex}"
    reader = Consumer({"bootstrap.servers": config.bootstrap_servers, "group.id": group})
    try:
        end = reader.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)[1]
        reader.commit(offsets=[TopicPartition(topic, 0, end)], asynchronous=False)
    finally:
        reader.close()
    return group, end


def partition_zero(config, group: str) -> int:
    topic = config.topic(OrderPlacedEvent)
    [offset] = [tp.offset for tp in committed_offsets(config, group, topic) if tp.partition == 0]
    return offset


def rewind_command(*args: str, capsys) -> str:
    call_command("rewind_offsets", "--topic", "order-placed-topic", "--partition", "0", *args)
    return capsys.readouterr().out


def test_a_dry_run_shows_the_move_and_changes_nothing(config, committed_group, capsys):
    group, end = committed_group
    out = rewind_command("--offset", str(end - 2), "--group", group, "--dry-run", capsys=capsys)
    topic = config.topic(OrderPlacedEvent)
    assert f"{topic} partition 0: {end} -> {end - 2}" in out
    assert "dry run" in out
    assert partition_zero(config, group) == end

    out = rewind_command("--offset", str(end - 2), "--group", group, capsys=capsys)
    assert "1 partitions of" in out
    assert partition_zero(config, group) == end - 2


def test_an_offset_the_group_has_not_passed_is_refused(config, committed_group, capsys):
    group, end = committed_group
    rewind_command("--offset", str(end - 1), "--group", group, capsys=capsys)
    with pytest.raises(CommandError, match="not past offset"):
        rewind_command("--offset", str(end), "--group", group, capsys=capsys)
    with pytest.raises(CommandError, match=f"holds offsets .* {end + 5} is not among them"):
        rewind_command("--offset", str(end + 5), "--group", group, capsys=capsys)
    assert partition_zero(config, group) == end - 1


def test_a_group_with_members_is_not_rewound(config, committed_group, capsys):
    group, end = committed_group
    member = Consumer(config.consumer_config(group=group))
    member.subscribe([config.topic(OrderPlacedEvent)])

    def assigned() -> bool:
        member.poll(0.2)
        return bool(member.assignment())

    try:
        wait_for(assigned, message="the member assigned its partitions")
        with pytest.raises(CommandError, match="1 active member"):
            rewind_command("--offset", str(end - 1), "--group", group, capsys=capsys)
    finally:
        member.close()
    wait_for(lambda: group_is_empty(config, group), message="the member gone")
    with pytest.raises(RewindRefused, match="no partition 7"):
        rewind_group(
            config,
            [config.topic(OrderPlacedEvent)],
            group=group,
            to_offset=0,
            partition=7,
        )


def test_offset_needs_one_topic_and_a_partition():
    with pytest.raises(CommandError, match="give one --topic and --partition"):
        call_command("rewind_offsets", "--offset", "1")
    with pytest.raises(CommandError, match="does not consume"):
        call_command(
            "rewind_offsets", "--time", "2026-11-27T08:00:00Z", "--topic", "order-paid-topic"
        )
    with pytest.raises(CommandError, match="Unknown topic 'x'"):
        call_command("rewind_offsets", "--time", "2026-11-27T08:00:00Z", "--topic", "x")


def test_a_time_needs_its_offset():
    with pytest.raises(CommandError, match="with its offset"):
        call_command("rewind_offsets", "--time", "2026-11-27T08:00:00")


def test_a_time_older_than_the_retention_is_refused():
    eight_days_ago = (datetime.now(UTC) - timedelta(days=8)).isoformat()
    with pytest.raises(CommandError, match="older than the 7 days processed events are kept"):
        call_command("rewind_offsets", "--time", eight_days_ago)


def test_an_offset_is_refused_when_the_record_there_on_any_partition_is_past_the_retention(
    config,
):
    send_at(config, order("1.00"), datetime.now(UTC) - timedelta(days=8), partition=0)
    send_at(config, order("1.00"), datetime.now(UTC), partition=1)
    with pytest.raises(RewindRefused, match="older than the 7 days processed events are kept"):
        rewind_group(
            config,
            [config.topic(OrderPlacedEvent)],
            group=f"rewind-{uuid.uuid4().hex}",
            to_offset=0,
        )
