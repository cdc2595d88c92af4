"""Rewinding a service's consumer group, so that its workers consume again from a point in time
or an offset (docs/decisions/0024).

What they consume again is applied only where the database lacks it: a record already applied
is a duplicate by its processed-events row. So after a service's database is restored from a
backup taken at time T, rewinding its group to a little before T applies again exactly what the
backup lost, and nothing twice. The group must have no members: the broker refuses offsets for
a group whose members own the partitions, and a running worker would commit over them.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from confluent_kafka import (
    Consumer,
    ConsumerGroupTopicPartitions,
    KafkaException,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient

from .conf import KAFKA_LOGGER, RuntimeConfig


class RewindRefused(ValueError):
    """A rewind that would not do what was asked: the group is running, the partition or the
    offset does not exist, or the offset is ahead of the group."""


@dataclass(frozen=True)
class Rewind:
    """Where one partition's consumption starts, before and after."""

    topic: str
    partition: int
    #: The group's committed offset before (None: it had committed none, so its workers start
    #: at the partition's first record, and it is left so).
    committed: int | None
    #: Its committed offset now (the same as before: left where it was).
    offset: int | None

    @property
    def moved(self) -> bool:
        return self.offset != self.committed


def rewind_group(
    config: RuntimeConfig,
    topics: list[str],
    *,
    group: str,
    to_time: datetime | None = None,
    to_offset: int | None = None,
    partition: int | None = None,
    dry_run: bool = False,
    timeout: float = 30,
) -> list[Rewind]:
    """Move ``group``'s committed offsets on ``topics`` (every partition, or ``partition``)
    back to ``to_time`` or ``to_offset``; return each partition's move, in topic and partition
    order. Nothing is changed with ``dry_run``.

    To a time: each partition starts again at its first record written at or after it; one the
    group has not reached yet, or has committed nothing on (its workers start at the first
    record), is left where it is, so no record is ever skipped. To an offset: it must be in the
    partition and behind the group. Never to a record older than the retention
    (``SAGA_RETENTION_DAYS``): its processed-events row may be purged, and it would be applied
    as new. Raises :class:`RewindRefused` for those mistakes and while the group has members.
    """
    if (to_time is None) == (to_offset is None):
        raise ValueError("give exactly one of to_time and to_offset")
    oldest = datetime.now(UTC) - timedelta(days=config.retention_days)
    if to_time is not None and to_time < oldest:
        raise RewindRefused(_older_than_retention(config, to_time))
    # The client must outlive its answers: a client collected first never completes them.
    admin = AdminClient(config.admin_config())
    [description] = admin.describe_consumer_groups([group], request_timeout=timeout).values()
    members = description.result(timeout).members
    if members:
        raise RewindRefused(
            f"Consumer group {group} has {len(members)} active member(s): stop its workers "
            "first (a stopped static member stays in the group for its session timeout, 10 s)."
        )
    targets, committed, written = _positions(
        config, topics, group, to_time, to_offset, partition, timeout
    )
    if written is not None and written < oldest:
        raise RewindRefused(_older_than_retention(config, written))
    rewinds = []
    for (topic, number), target in targets.items():
        before = committed.get((topic, number))
        if before is None or target > before:
            if to_offset is not None:
                where = "nothing" if before is None else f"offset {before}"
                raise RewindRefused(
                    f"{topic} partition {number}: the group has committed {where} there, so its "
                    f"workers are not past offset {to_offset}: there is nothing to rewind."
                )
            target = before  # left where it is: nothing before that time would be consumed again
        rewinds.append(Rewind(topic, number, before, target))
    moved = [rewind for rewind in rewinds if rewind.moved]
    if moved and not dry_run:
        request = ConsumerGroupTopicPartitions(
            group, [TopicPartition(r.topic, r.partition, r.offset) for r in moved]
        )
        [answer] = admin.alter_consumer_group_offsets([request], request_timeout=timeout).values()
        for result in answer.result(timeout).topic_partitions:
            if result.error is not None:
                raise KafkaException(result.error)
    return rewinds


def _positions(
    config: RuntimeConfig,
    topics: list[str],
    group: str,
    to_time: datetime | None,
    to_offset: int | None,
    partition: int | None,
    timeout: float,
) -> tuple[dict[tuple[str, int], int], dict[tuple[str, int], int], datetime | None]:
    """The offset each partition is to start at, the group's committed offsets (the partitions
    it has committed on only), and, to an offset, when the oldest record there was written
    (None where every partition ends there)."""
    # A consumer of the group that never subscribes: it reads the group's offsets and the
    # partitions' positions without joining the group.
    consumer = Consumer(
        {
            "bootstrap.servers": config.bootstrap_servers,
            "group.id": group,
            "enable.auto.commit": False,
            "logger": KAFKA_LOGGER,
        }
    )
    try:
        partitions = []
        for topic in topics:
            numbers = sorted(consumer.list_topics(topic, timeout=timeout).topics[topic].partitions)
            if partition is not None:
                if partition not in numbers:
                    raise RewindRefused(f"{topic} has no partition {partition}.")
                numbers = [partition]
            partitions += [TopicPartition(topic, number) for number in numbers]
        committed = {
            (tp.topic, tp.partition): tp.offset
            for tp in consumer.committed(partitions, timeout=timeout)
            if tp.offset >= 0
        }
        targets = {}
        written = None
        if to_time is not None:
            at = int(to_time.timestamp() * 1000)
            found = consumer.offsets_for_times(
                [TopicPartition(tp.topic, tp.partition, at) for tp in partitions], timeout=timeout
            )
            for tp in found:
                if tp.error is not None:
                    raise KafkaException(tp.error)
                offset = tp.offset
                if offset < 0:  # no record at or after that time: the partition's end
                    offset = consumer.get_watermark_offsets(tp, timeout=timeout)[1]
                targets[tp.topic, tp.partition] = offset
        else:
            for tp in partitions:
                low, high = consumer.get_watermark_offsets(tp, timeout=timeout)
                if not low <= to_offset <= high:
                    raise RewindRefused(
                        f"{tp.topic} partition {tp.partition} holds offsets {low} to {high} "
                        f"(its end); {to_offset} is not among them."
                    )
                targets[tp.topic, tp.partition] = to_offset
                if to_offset < high:
                    at = _written_at(consumer, tp.topic, tp.partition, to_offset, timeout)
                    written = at if written is None else min(written, at)
        return targets, committed, written
    finally:
        consumer.close()


def _written_at(consumer: Consumer, topic: str, partition: int, offset: int, timeout: float):
    """When the record at ``offset`` was written (its timestamp)."""
    consumer.assign([TopicPartition(topic, partition, offset)])
    message = consumer.poll(timeout)
    if message is None or message.error() is not None:
        raise KafkaException(message.error() if message else f"no record at offset {offset}")
    _kind, milliseconds = message.timestamp()
    return datetime.fromtimestamp(milliseconds / 1000, UTC)


def _older_than_retention(config: RuntimeConfig, when: datetime) -> str:
    return (
        f"Records from {when.isoformat()} are older than the {config.retention_days} days "
        "processed events are kept (SAGA_RETENTION_DAYS): they could be applied twice."
    )
