"""Small helpers over confluent-kafka shared by the worker, the dead-letter replay and tests."""

from confluent_kafka import KafkaError, KafkaException, Producer


def produce_and_wait(
    producer: Producer,
    topic: str,
    *,
    key: bytes | None,
    value: bytes | None,
    headers: list[tuple[str, bytes | str]],
    timeout: float = 30,
) -> None:
    """Produce one record and return once the broker acknowledged it; KafkaException if not."""
    delivered: list[KafkaError | None] = []
    producer.produce(
        topic,
        key=key,
        value=value,
        headers=headers,
        on_delivery=lambda error, _message: delivered.append(error),
    )
    producer.flush(timeout)
    if delivered != [None]:
        raise KafkaException(delivered[0] if delivered else f"{topic}: not acknowledged")
