"""Sending dead-lettered records back where they came from, once the cause is fixed."""

import logging
from dataclasses import dataclass

from confluent_kafka import Consumer, KafkaException, Producer

from saga_events.topics import dead_letter_topic

from .conf import RuntimeConfig
from .kafka import produce_and_wait

logger = logging.getLogger(__name__)

_DLT_HEADER_PREFIX = "dlt-"


@dataclass(frozen=True)
class Replayed:
    partition: int
    offset: int
    key: str
    error: str


def replay_dead_letters(
    config: RuntimeConfig, topic: str, *, limit: int | None = None, idle_seconds: float = 5
) -> list[Replayed]:
    """Re-publish the records parked on ``<topic>.DLT`` to ``topic``, without the dlt headers.

    Reads with a consumer group of its own and commits each record after the broker has the
    copy, so a record is replayed once however often this runs. Stops after ``limit`` records,
    or once nothing new has arrived for ``idle_seconds``.
    """
    consumer = Consumer(config.consumer_config(group=f"{config.consumer_group}-dlt-replay"))
    producer = Producer(config.producer_config())
    consumer.subscribe([dead_letter_topic(topic)])
    replayed: list[Replayed] = []
    try:
        while limit is None or len(replayed) < limit:
            message = consumer.poll(idle_seconds)
            if message is None:
                break
            if message.error():
                raise KafkaException(message.error())
            headers = [
                (name, value)
                for name, value in message.headers() or []
                if not name.startswith(_DLT_HEADER_PREFIX)
            ]
            produce_and_wait(
                producer, topic, key=message.key(), value=message.value(), headers=headers
            )
            consumer.commit(message=message, asynchronous=False)
            error = dict(message.headers() or []).get("dlt-error-message", b"").decode()
            replayed.append(
                Replayed(
                    message.partition(), message.offset(), (message.key() or b"").decode(), error
                )
            )
            logger.info(
                "dead letter replayed",
                extra={"partition": message.partition(), "offset": message.offset()},
            )
    finally:
        consumer.close()
    return replayed
