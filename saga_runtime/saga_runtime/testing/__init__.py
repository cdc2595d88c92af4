"""Test helpers for the services: real Kafka topics, a real worker and relay, polling asserts.

Everything here talks to the real broker and database; nothing is faked.
"""

import re
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from confluent_kafka import (
    Consumer,
    ConsumerGroupTopicPartitions,
    Message,
    Producer,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient
from django.db import connection

from saga_events import Event
from saga_events.codec import decode, encode
from saga_events.topics import dead_letter_topic

from ..conf import RuntimeConfig
from ..kafka import produce_and_wait
from ..models import OutboxMessage
from ..worker import Outcome, SagaWorker

T = TypeVar("T")


def wait_for(condition: Callable[[], T], *, timeout: float = 30, message: str = "") -> T:
    """Poll ``condition`` until it returns something truthy, and return that; fail at timeout."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message or condition}")
        time.sleep(0.05)


def committed_offsets(config: RuntimeConfig, group: str, topic: str) -> list[TopicPartition]:
    """The offsets ``group`` has committed on ``topic``'s partitions (those it has not are left
    out), as the broker has them now."""
    # The client must outlive the answer: a client collected first never completes it.
    admin = AdminClient(config.admin_config())
    partitions = [TopicPartition(topic, p) for p in range(config.topic_partitions)]
    [answer] = admin.list_consumer_group_offsets(
        [ConsumerGroupTopicPartitions(group, partitions)], request_timeout=10
    ).values()
    return [tp for tp in answer.result(30).topic_partitions if tp.offset >= 0]


def run_worker_until(
    worker: SagaWorker, condition: Callable[[], T], *, timeout: float = 30, message: str = ""
) -> T:
    """Let ``worker`` consume, one record at a time, until ``condition`` holds."""

    def step() -> T:
        worker.poll_once(timeout=0.2)
        return condition()

    return wait_for(step, timeout=timeout, message=message)


class KafkaTestClient:
    """Produces records to and reads records from the session's topics."""

    def __init__(self, config: RuntimeConfig) -> None:
        self.config = config
        self.producer = Producer(config.producer_config())

    def send(
        self,
        topic: str,
        value: bytes | None,
        *,
        key: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Produce one raw record and wait until the broker has it."""
        produce_and_wait(
            self.producer,
            topic,
            key=key.encode() if key else None,
            value=value,
            headers=list((headers or {}).items()),
        )

    def send_event(self, event: Event) -> None:
        """Produce ``event`` to its topic as a producing service would."""
        self.send(
            self.config.topic(type(event)),
            encode(event),
            key=str(event.order_number),
            headers={"eventType": event.event_type, "content-type": "application/json"},
        )

    def read(
        self,
        topic: str,
        *,
        until: Callable[[list[Message]], bool],
        timeout: float = 30,
    ) -> list[Message]:
        """Read ``topic`` from its beginning until ``until(messages)`` holds; return them all."""
        consumer = Consumer(
            {
                **self.config.consumer_config(group=f"test-reader-{uuid.uuid4().hex}"),
                "enable.auto.offset.store": True,
            }
        )
        consumer.subscribe([topic])
        messages: list[Message] = []

        def caught_up() -> bool:
            message = consumer.poll(0.2)
            if message is not None and not message.error():
                messages.append(message)
            return until(messages)

        try:
            wait_for(caught_up, timeout=timeout, message=f"records on {topic}")
        finally:
            consumer.close()
        return messages

    def parked(self, topic: str, key: object) -> Message:
        """The one record keyed ``key`` on ``topic``'s dead-letter twin."""
        wanted = str(key).encode()
        messages = self.read(
            dead_letter_topic(topic), until=lambda ms: any(m.key() == wanted for m in ms)
        )
        [record] = [m for m in messages if m.key() == wanted]
        return record

    def read_events(
        self, event_class: type[Event], *, order_number: uuid.UUID, count: int = 1, **kwargs
    ) -> list[Event]:
        """The events of ``event_class`` about one order, once ``count`` of them have arrived."""

        def of_order(messages: Iterable[Message]) -> list[Message]:
            return [m for m in messages if m.key() == str(order_number).encode()]

        messages = self.read(
            self.config.topic(event_class),
            until=lambda messages: len(of_order(messages)) >= count,
            **kwargs,
        )
        return [decode(event_class, m.value()) for m in of_order(messages)]

    def published(self, event_class: type[Event], order_number: uuid.UUID) -> list[Event]:
        """Every ``event_class`` record about one order on its topic, and provably no more.

        A marker record with the order's key is sent after them; the order's records share one
        partition, so once the marker is read everything published before it has been read.
        """
        topic, key = self.config.topic(event_class), str(order_number).encode()
        marker = f"marker {uuid.uuid4()}".encode()
        self.send(topic, marker, key=str(order_number))
        messages = self.read(topic, until=lambda ms: any(m.value() == marker for m in ms))
        return [
            decode(event_class, m.value())
            for m in messages
            if m.key() == key and m.value() != marker
        ]

    def close(self) -> None:
        self.producer.flush(30)


def outbox_events(event_class: type[Event], order_number: uuid.UUID) -> list[Event]:
    """The events of ``event_class`` a service queued in its outbox for one order, in order."""
    rows = OutboxMessage.objects.filter(
        event_type=event_class.event_type, key=str(order_number)
    ).order_by("id")
    return [decode(event_class, row.payload) for row in rows]


def consume_outcomes(
    worker: SagaWorker, key: uuid.UUID, count: int, *, timeout: float = 30
) -> list[Outcome]:
    """Let ``worker`` apply records until ``count`` keyed ``key`` were; return their outcomes."""
    seen: list[Outcome] = []

    def step() -> bool:
        message = worker.consumer.poll(0.2)
        if message is None or message.error():
            return False
        outcome = worker.process(message)
        worker.consumer.commit(message=message, asynchronous=False)
        if message.key() == str(key).encode():
            seen.append(outcome)
        return len(seen) >= count

    wait_for(step, timeout=timeout, message=f"{count} records of {key}")
    return seen


def closed_port() -> int:
    """A port nothing listens on: connecting to it is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def database_unreachable() -> Iterator[None]:
    """Point the default database at a closed port, in this thread and any other.

    Every thread's connection is built from this same settings dict.
    """
    settings = connection.settings_dict
    saved = settings["HOST"], settings["PORT"]
    connection.close()
    settings["HOST"], settings["PORT"] = "127.0.0.1", str(closed_port())
    try:
        yield
    finally:
        connection.close()
        settings["HOST"], settings["PORT"] = saved


def run_at_once(*calls: Callable[[], object]) -> list:
    """Run each call in its own thread and database connection, all released together.

    Returns each call's result, or the exception it raised, in the order given.
    """
    start = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(index: int, call: Callable[[], object]) -> None:
        try:
            start.wait(timeout=30)
            results[index] = call()
        except Exception as error:
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(thread.is_alive() for thread in threads), "a call did not finish"
    return results


#: What an error answer must never show a client.
INTERNALS = re.compile(
    r"Traceback|File \"|\b[A-Z]\w*(Error|Exception|DoesNotExist)\b|Http404|InvalidOperation"
)


def assert_error(
    response, status: int, *, field: str | None = None, fields: set[str] | None = None
) -> dict:
    """``response`` is the services' one error shape with ``status``, naming ``field`` (among
    others) or exactly ``fields`` with a message each, and showing no internals."""
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["status"] == status
    assert isinstance(body["error"], str) and body["error"]
    assert isinstance(body["detail"], str) and body["detail"]
    assert set(body) <= {"status", "error", "detail", "fields"}
    named = body.get("fields", {})
    if field is not None:
        assert named.get(field), body
    if fields is not None:
        assert set(named) == fields, body
    for messages in named.values():
        assert messages and all(isinstance(m, str) and m for m in messages), body
    assert not INTERNALS.search(response.content.decode()), body
    return body
