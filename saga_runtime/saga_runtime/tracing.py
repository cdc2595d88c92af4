"""Tracing: the process's OpenTelemetry setup, and trace context across Kafka.

A saga is one trace. ``outbox.publish`` captures the current context into the outbox row; the
relay sends the row inside a producer span, child of that captured context, with ``traceparent``
naming the producer span; the consuming worker starts its consumer span from that header when
the record arrives, rather than auto-instrumenting ``poll()`` (which opens a span per poll and
orphans the saga's trace). See docs/decisions/0007-tracing-across-kafka.md.

Without :func:`configure_tracing` (``TRACING_ENABLED=false``) no SDK is loaded: the spans below
are OpenTelemetry's no-op spans, which still pass an incoming ``traceparent`` through unchanged.
"""

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from importlib.metadata import version
from typing import TYPE_CHECKING

from confluent_kafka import Message
from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.propagators.textmap import Getter
from opentelemetry.trace import (
    NonRecordingSpan,
    Span,
    SpanContext,
    SpanKind,
    StatusCode,
    TraceFlags,
)

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.sampling import TraceIdRatioBased

    from saga_events import Event

tracer = trace.get_tracer("saga_runtime", version("saga-runtime"))

#: Probes and scrapes come every few seconds; a trace each would bury the sagas' traces.
UNTRACED_URLS = "/health/live$,/health/ready$,/metrics$"

_provider: "TracerProvider | None" = None
#: The share of sagas traced, as ``TRACING_SAMPLE_RATIO`` set it (see request_context).
_ratio: "TraceIdRatioBased | None" = None

#: What takes OpenTelemetry's Django middleware's place (saga_runtime.request_tracing).
REQUEST_MIDDLEWARE = "saga_runtime.request_tracing.RequestTracingMiddleware"


def configure_tracing() -> None:
    """Install the SDK once per process: Zipkin export, Django and psycopg instrumentation.

    Called by the app's ``ready()`` when ``TRACING_ENABLED``, so every process that loads
    Django gets it (a gunicorn worker, ``manage.py consume_saga``) before the first request,
    query or record. The SDK is imported here, not at module level, so that tracing off does
    not even load it.
    """
    global _provider, _ratio
    if _provider is not None:
        return
    from django.conf import settings
    from opentelemetry.exporter.zipkin.json import ZipkinExporter
    from opentelemetry.instrumentation.django import DjangoInstrumentor
    from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

    ratio = TraceIdRatioBased(settings.TRACING_SAMPLE_RATIO)
    provider = TracerProvider(
        resource=Resource.create({SERVICE_NAME: settings.TRACING_SERVICE_NAME}),
        sampler=ParentBased(root=_saga_roots_sampler(ratio)),
    )
    provider.add_span_processor(
        BatchSpanProcessor(ZipkinExporter(endpoint=settings.ZIPKIN_ENDPOINT))
    )
    trace.set_tracer_provider(provider)
    # Django's middleware list is read when the WSGI handler is built, after ready().
    DjangoInstrumentor().instrument(tracer_provider=provider, excluded_urls=UNTRACED_URLS)
    settings.MIDDLEWARE = [
        REQUEST_MIDDLEWARE if name == DjangoInstrumentor._opentelemetry_middleware else name
        for name in settings.MIDDLEWARE
    ]
    PsycopgInstrumentor().instrument(tracer_provider=provider)
    _provider, _ratio = provider, ratio


def tracing_configured() -> bool:
    return _provider is not None


def flush(timeout_seconds: float = 30) -> None:
    """Export the spans still queued (the batch processor sends every few seconds)."""
    if _provider is not None:
        _provider.force_flush(int(timeout_seconds * 1000))


@contextmanager
def quiet_unless_recorded(span: Span) -> Iterator[None]:
    """Inside the block, instrumented libraries (psycopg) do no tracing work unless ``span``
    is recorded.

    Under a span not sampled, their spans would be dropped anyway, but the psycopg wrapper
    would still name, start and end one for every statement: about 45 µs of CPU on each ORM
    query of 400 (docs/decisions/0017). Propagation is not affected: events published inside
    still carry the unsampled context, so the saga stays unsampled downstream.
    """
    if _provider is None or span.is_recording():
        yield
        return
    from opentelemetry.instrumentation.utils import suppress_instrumentation

    with suppress_instrumentation():
        yield


def _saga_roots_sampler(ratio: "TraceIdRatioBased"):
    """A trace starts only at a request, a record or a publish: a record or a publish sampled
    at ``ratio``; a request always, since it reaches the SDK only once request_context has
    sampled it at ``ratio``.

    A query with no span around it (the relay's polling, the backlog gauge, ``migrate``) is
    dropped instead of becoming a trace of one span of its own.
    """
    from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult

    class SagaRoots(Sampler):
        def should_sample(
            self, parent_context, trace_id, name, kind=None, attributes=None, *args, **kwargs
        ):
            if kind is SpanKind.SERVER:
                return SamplingResult(Decision.RECORD_AND_SAMPLE, attributes)
            if kind in (SpanKind.CONSUMER, SpanKind.PRODUCER):
                return ratio.should_sample(
                    parent_context, trace_id, name, kind, attributes, *args, **kwargs
                )
            return SamplingResult(Decision.DROP)

        def get_description(self) -> str:
            return f"SagaRoots{{{ratio.get_description()}}}"

    return SagaRoots()


def request_context(carrier: object, getter: Getter) -> Context | None:
    """The context to run a request in when it will not be recorded, or None when it will.

    A request continues the trace its ``traceparent`` names, recorded if that trace is
    sampled; with none, it starts a trace, sampled at the ratio. Deciding this before
    OpenTelemetry's middleware lets a request not recorded skip that middleware, which would
    collect attributes, resolve the route and record metrics for a span that records nothing
    (docs/decisions/0022). The context returned carries the trace on, unsampled, to the events
    the request publishes.
    """
    context = propagate.extract(carrier, getter=getter)
    parent = trace.get_current_span(context).get_span_context()
    if parent.is_valid:
        return None if parent.trace_flags.sampled else context
    ids = _provider.id_generator
    trace_id = ids.generate_trace_id()
    if _ratio.should_sample(context, trace_id, "request").decision.is_sampled():
        return None
    # The flags the SDK would give a root span it did not sample.
    flags = TraceFlags.RANDOM_TRACE_ID if ids.is_trace_id_random() else TraceFlags.DEFAULT
    unsampled = SpanContext(
        trace_id, ids.generate_span_id(), is_remote=False, trace_flags=TraceFlags(flags)
    )
    return trace.set_span_in_context(NonRecordingSpan(unsampled), context)


def message_headers(message: Message) -> dict[str, str]:
    return {
        key: value.decode(errors="replace") if isinstance(value, bytes) else (value or "")
        for key, value in (message.headers() or [])
    }


@contextmanager
def producer_span(
    topic: str, headers: Mapping[str, str], *, order_number: str, event_id: str
) -> Iterator[dict[str, str]]:
    """A span for sending one outbox row, child of the trace captured when it was written.

    Yields the headers to send: the captured ones with ``traceparent`` now naming this span.
    A trace not sampled records no span, so its captured headers are sent as they are.
    """
    parent = propagate.extract(dict(headers))
    if _unsampled(parent):
        yield dict(headers)
        return
    with tracer.start_as_current_span(
        f"send {topic}",
        context=parent,
        kind=SpanKind.PRODUCER,
        attributes={
            "messaging.system": "kafka",
            "messaging.operation.type": "send",
            "messaging.destination.name": topic,
            "messaging.kafka.message.key": order_number,
            "messaging.message.id": event_id,
            "orderNumber": order_number,
            "eventId": event_id,
        },
    ):
        outgoing = dict(headers)
        propagate.inject(outgoing)
        yield outgoing


def start_consumer_span(message: Message) -> Span:
    """Start (without making it current) the span for handling one record, child of the
    producer span named by its header. The worker ends it once the record's transaction has
    committed, or rolled back. A record of a trace not sampled gets no span of its own: it
    carries its producer's context on, which is all an unsampled span would do."""
    parent = propagate.extract(message_headers(message))
    if _unsampled(parent):
        return trace.get_current_span(parent)
    return tracer.start_span(
        f"process {message.topic()}",
        context=parent,
        kind=SpanKind.CONSUMER,
        attributes={
            "messaging.system": "kafka",
            "messaging.operation.type": "process",
            "messaging.destination.name": message.topic(),
            "messaging.destination.partition.id": str(message.partition()),
            "messaging.kafka.offset": message.offset(),
        },
    )


def _unsampled(context: Context) -> bool:
    """Whether ``context`` continues a trace that was not sampled (rather than none at all,
    where a new trace may start)."""
    span_context = trace.get_current_span(context).get_span_context()
    return span_context.is_valid and not span_context.trace_flags.sampled


@contextmanager
def consumer_span(message: Message) -> Iterator[Span]:
    """A span for handling one record, current while it runs (see start_consumer_span).

    The caller adds ``orderNumber`` and ``eventId`` once the record is decoded.
    """
    with trace.use_span(start_consumer_span(message), end_on_exit=True) as span:
        yield span


def name_record(span: Span, event: "Event") -> None:
    """Tag a record's span with the order and event it carried."""
    if span.is_recording():
        span.set_attribute("orderNumber", str(event.order_number))
        span.set_attribute("eventId", str(event.event_id))


def end_with_outcome(span: Span, outcome: str) -> None:
    record_outcome(span, outcome)
    span.end()


def end_rolled_back(span: Span) -> None:
    """End the span of a record whose batch rolled back; it is applied again, in a new span."""
    span.set_attribute("saga.outcome", "batch_rolled_back")
    span.end()


def record_outcome(span: Span, outcome: str | None) -> None:
    """Tag the consumer span with what became of its record; a dead letter shows as an error."""
    if outcome is None:
        return
    span.set_attribute("saga.outcome", str(outcome))
    if outcome == "dead_lettered":
        span.set_status(StatusCode.ERROR, "record dead-lettered")
