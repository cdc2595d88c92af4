"""Dead letters: the records a worker parked on ``<topic>.DLT``, listed, and sent back to their
topic once their cause is fixed.

A parked record is the original record, unchanged, plus the ``dlt-*`` headers the worker added:
where it came from, which service parked it and why. The ``.DLT`` topics are the only copy: the
list command, the admin page and the replay all read them on demand
(docs/decisions/0012-dead-letters-for-people.md). Reading assigns partitions and reads up to the
end found when it starts: it joins no consumer group and commits no offset, so it disturbs
neither the workers nor a replay. What a service has replayed is kept in its database
(:class:`~saga_runtime.models.DeadLetterReplay`).
"""

import logging
import time
from collections.abc import Collection, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from django.db import transaction

from saga_events.topics import DEFAULT_TOPICS, dead_letter_topic

from .conf import RuntimeConfig
from .kafka import produce_and_wait
from .models import DeadLetterReplay

logger = logging.getLogger(__name__)

DLT_HEADER_PREFIX = "dlt-"
_DLT_SUFFIX = dead_letter_topic("")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class UnknownTopic(ValueError):
    """A topic name the contract does not have."""


def contract_topic(config: RuntimeConfig, name: str) -> str:
    """The full name (with the prefix) of the contract's topic ``name``, e.g.
    ``order-placed-topic``; :class:`UnknownTopic` for any other name."""
    if name not in DEFAULT_TOPICS.values():
        known = ", ".join(sorted(DEFAULT_TOPICS.values()))
        raise UnknownTopic(f"Unknown topic {name!r}; one of: {known}.")
    return config.topic_prefix + name


def contract_topics(config: RuntimeConfig) -> list[str]:
    """Every contract topic, by its full name: the ones that have a ``.DLT`` twin."""
    return [config.topic_prefix + name for name in DEFAULT_TOPICS.values()]


@dataclass(frozen=True)
class DeadLetter:
    """One record on a ``.DLT`` topic."""

    #: The topic it was consumed from, and is replayed to (its ``.DLT`` twin holds it).
    topic: str
    #: Its place on the ``.DLT`` topic.
    partition: int
    offset: int
    parked_at: datetime
    key: bytes | None
    value: bytes | None
    #: The record's own headers, without the ``dlt-*`` ones: what a replay sends.
    headers: tuple[tuple[str, bytes], ...]
    #: From the ``dlt-*`` headers (empty when a header is missing).
    parked_by: str
    original_partition: str
    original_offset: str
    error_class: str
    error_message: str
    #: When this service replayed it (None: not yet, or parked by another service).
    replayed_at: datetime | None = None

    @property
    def dead_letter_topic(self) -> str:
        return dead_letter_topic(self.topic)

    @property
    def id(self) -> str:
        """Names the record on its ``.DLT`` topic, e.g. in the admin's selection."""
        return f"{self.dead_letter_topic}:{self.partition}:{self.offset}"

    @property
    def key_text(self) -> str:
        return _text(self.key or b"")

    def value_preview(self, size: int = 200) -> str:
        """The first ``size`` bytes of the value as text (bytes that are not UTF-8 escaped)."""
        value = self.value or b""
        return _text(value[:size]) + ("…" if len(value) > size else "")

    @classmethod
    def from_message(cls, message) -> "DeadLetter":
        headers = [(name, value or b"") for name, value in message.headers() or []]
        dlt = {
            name.removeprefix(DLT_HEADER_PREFIX): _text(value)
            for name, value in headers
            if name.startswith(DLT_HEADER_PREFIX)
        }
        _kind, milliseconds = message.timestamp()
        return cls(
            topic=message.topic().removesuffix(_DLT_SUFFIX),
            partition=message.partition(),
            offset=message.offset(),
            parked_at=_EPOCH + timedelta(milliseconds=milliseconds),
            key=message.key(),
            value=message.value(),
            headers=tuple(
                (name, value) for name, value in headers if not name.startswith(DLT_HEADER_PREFIX)
            ),
            parked_by=dlt.get("consumer", ""),
            original_partition=dlt.get("original-partition", ""),
            original_offset=dlt.get("original-offset", ""),
            error_class=dlt.get("error-class", ""),
            error_message=dlt.get("error-message", ""),
        )


def _text(data: bytes) -> str:
    return data.decode("utf-8", "backslashreplace")


def read_dead_letters(
    config: RuntimeConfig, topics: Iterable[str], *, timeout: float = 10
) -> list[DeadLetter]:
    """Every record on the ``.DLT`` twins of ``topics`` (full names), oldest first in each
    partition, up to the end each partition had when the read started.

    KafkaException if the broker does not answer, or the records are not all read within
    ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    # A consumer needs a group id, but one that is only assigned partitions never joins that
    # group, and nothing here commits: the group is never created.
    consumer = Consumer(
        {
            **config.consumer_config(group=f"{config.consumer_group}-dlt-reader"),
            # The end of a partition, even one whose last offset is not a record.
            "enable.partition.eof": True,
        }
    )
    try:
        ends = _partition_ends(consumer, [dead_letter_topic(topic) for topic in topics], timeout)
        consumer.assign([TopicPartition(topic, p, low) for (topic, p), (low, _) in ends.items()])
        records: list[DeadLetter] = []
        while ends:
            if time.monotonic() > deadline:
                raise KafkaException(f"dead letters not read within {timeout} s")
            for message in consumer.consume(500, 0.1):
                place = (message.topic(), message.partition())
                if message.error():
                    if message.error().code() != KafkaError._PARTITION_EOF:
                        raise KafkaException(message.error())
                    ends.pop(place, None)
                    continue
                if place not in ends:  # past the end it had when the read started
                    continue
                records.append(DeadLetter.from_message(message))
                if message.offset() >= ends[place][1] - 1:
                    ends.pop(place)
    finally:
        consumer.close()
    return sorted(records, key=lambda r: (r.topic, r.partition, r.offset))


def _partition_ends(
    consumer: Consumer, topics: list[str], timeout: float
) -> dict[tuple[str, int], tuple[int, int]]:
    """``{(topic, partition): (low, high)}`` of the partitions of ``topics`` that hold records."""
    ends = {}
    for topic in topics:
        metadata = consumer.list_topics(topic, timeout=timeout).topics[topic]
        if metadata.error is not None:
            raise KafkaException(metadata.error)
        for partition in metadata.partitions:
            low, high = consumer.get_watermark_offsets(
                TopicPartition(topic, partition), timeout=timeout
            )
            if high > low:
                ends[(topic, partition)] = (low, high)
    return ends


def parked_records(
    config: RuntimeConfig, topics: Iterable[str], *, timeout: float = 10
) -> tuple[list[DeadLetter], list[DeadLetter]]:
    """The records on the ``.DLT`` twins of ``topics`` parked by this service (each with the
    time this service replayed it, if it did), and those parked by other services."""
    own, others = [], []
    for record in read_dead_letters(config, topics, timeout=timeout):
        (own if record.parked_by == config.service else others).append(record)
    replays = {
        (row.topic, row.partition, row.offset, row.parked_at): row.replayed_at
        for row in DeadLetterReplay.objects.filter(
            topic__in={record.dead_letter_topic for record in own}
        )
    }
    own = [
        replace(
            record,
            replayed_at=replays.get(
                (record.dead_letter_topic, record.partition, record.offset, record.parked_at)
            ),
        )
        for record in own
    ]
    return own, others


def replay_dead_letters(
    config: RuntimeConfig,
    topics: Iterable[str],
    *,
    only: Collection[str] | None = None,
    limit: int | None = None,
    dry_run: bool = False,
) -> list[DeadLetter]:
    """Send the records this service parked on the ``.DLT`` twins of ``topics``, and has not
    replayed yet, back to their topic, without the ``dlt-*`` headers; return them.

    ``only``: just the records with these :attr:`DeadLetter.id`; ``limit``: at most this many,
    oldest first; ``dry_run``: return what would be replayed, and send and record nothing.

    Each record is marked replayed in this service's database in the same transaction that
    waits for the broker to take the copy, so a record is replayed once however often (or
    however many at once) this runs; only a crash between the broker's acknowledgement and
    the commit would send it again, and the consumers' processed-events rows absorb that copy.
    """
    own, _others = parked_records(config, topics)
    pending = [
        record
        for record in own
        if record.replayed_at is None and (only is None or record.id in only)
    ][:limit]
    if dry_run:
        return pending
    producer = Producer(config.producer_config())
    replayed = []
    try:
        for record in pending:
            with transaction.atomic():
                row, created = DeadLetterReplay.objects.get_or_create(
                    topic=record.dead_letter_topic,
                    partition=record.partition,
                    offset=record.offset,
                    parked_at=record.parked_at,
                )
                if not created:  # another replay took it meanwhile
                    continue
                produce_and_wait(
                    producer,
                    record.topic,
                    key=record.key,
                    value=record.value,
                    headers=list(record.headers),
                )
            replayed.append(replace(record, replayed_at=row.replayed_at))
            logger.info(
                "dead letter replayed",
                extra={
                    "topic": record.topic,
                    "partition": record.partition,
                    "offset": record.offset,
                },
            )
    finally:
        producer.flush(30)
    return replayed
