"""Trace context across Kafka: a producer span per sent event, a consumer span per record.

The consumer span is started here, when a record arrives, from its ``traceparent`` header,
rather than by auto-instrumenting ``poll()`` (which opens a span per poll and orphans the
saga's trace). Without a configured SDK these are OpenTelemetry's no-op spans.
"""

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from confluent_kafka import Message
from opentelemetry import propagate, trace
from opentelemetry.trace import Span, SpanKind

tracer = trace.get_tracer("saga_runtime")


def message_headers(message: Message) -> dict[str, str]:
    return {
        key: value.decode(errors="replace") if isinstance(value, bytes) else (value or "")
        for key, value in (message.headers() or [])
    }


@contextmanager
def producer_span(
    topic: str, headers: Mapping[str, str], attributes: Mapping[str, str]
) -> Iterator[dict[str, str]]:
    """A span for sending one outbox row, child of the trace captured when it was written.

    Yields the headers to send: the captured ones with ``traceparent`` now naming this span.
    """
    parent = propagate.extract(dict(headers))
    with tracer.start_as_current_span(
        f"{topic} publish",
        context=parent,
        kind=SpanKind.PRODUCER,
        attributes={"messaging.system": "kafka", "messaging.destination.name": topic, **attributes},
    ):
        outgoing = dict(headers)
        propagate.inject(outgoing)
        yield outgoing


@contextmanager
def consumer_span(message: Message) -> Iterator[Span]:
    parent = propagate.extract(message_headers(message))
    with tracer.start_as_current_span(
        f"{message.topic()} process",
        context=parent,
        kind=SpanKind.CONSUMER,
        attributes={
            "messaging.system": "kafka",
            "messaging.destination.name": message.topic(),
            "messaging.kafka.destination.partition": message.partition(),
            "messaging.kafka.message.offset": message.offset(),
        },
    ) as span:
        yield span
