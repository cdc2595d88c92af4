"""Tracing as processes get it: configured once by the app when enabled, absent when not; a
worker continues the trace named by a record's ``traceparent`` and exports it on SIGTERM."""

import dataclasses
import json
import os
import secrets
import signal
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connection
from testapp.models import Ledger

from saga_events import OrderPlacedEvent
from saga_events.codec import encode
from saga_runtime.models import OutboxMessage
from saga_runtime.testing import KafkaTestClient, wait_for
from saga_runtime.topics import create_topics

pytestmark = pytest.mark.django_db(transaction=True)

TESTS_DIR = Path(__file__).parent
ZIPKIN_URL = os.environ.get("ZIPKIN_URL", "http://localhost:9411")

# Run in a fresh process with the test project's settings: what did Django's start-up install?
PROBE = """
import json, sys
import django
django.setup()
sdk_loaded = "opentelemetry.sdk.trace" in sys.modules
import psycopg
from django.conf import settings
from opentelemetry import trace
answer = {
    "sdk_loaded": sdk_loaded,
    "provider": type(trace.get_tracer_provider()).__name__,
    "django_middleware": any("opentelemetry" in name for name in settings.MIDDLEWARE),
    "psycopg_wrapped": hasattr(psycopg.connect, "__wrapped__"),
}
if sdk_loaded:
    from django.test import Client
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from opentelemetry.trace import SpanKind
    exporter = InMemorySpanExporter()
    trace.get_tracer_provider().add_span_processor(SimpleSpanProcessor(exporter))
    tracer = trace.get_tracer("probe")
    with tracer.start_as_current_span("lone query", kind=SpanKind.CLIENT):
        pass
    client = Client(HTTP_HOST="localhost")
    answer["statuses"] = [
        client.get(path).status_code
        for path in ("/health/ready", "/health/live", "/metrics", "/no-such-page")
    ]
    answer["spans"] = sorted(
        (span.name, span.kind.name, span.parent is None) for span in exporter.get_finished_spans()
    )
    # Whether instrumented libraries trace inside a request recorded, and one not sampled.
    from opentelemetry.instrumentation.utils import is_instrumentation_enabled
    from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags
    from saga_runtime.middleware import UnsampledTraceMiddleware
    middleware = UnsampledTraceMiddleware(lambda request: is_instrumentation_enabled())
    unsampled = NonRecordingSpan(SpanContext(1, 1, is_remote=True, trace_flags=TraceFlags(0)))
    with tracer.start_as_current_span("sampled request", kind=SpanKind.SERVER):
        answer["instrumented_when_sampled"] = middleware(None)
    with trace.use_span(unsampled):
        answer["instrumented_when_unsampled"] = middleware(None)
    answer["instrumented_after"] = is_instrumentation_enabled()
print("probe:", json.dumps(answer))  # among the log lines, which go to stdout too
"""


def database_url() -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def probe(tracing_enabled: str) -> dict:
    env = os.environ | {
        "DJANGO_SETTINGS_MODULE": "testproject.settings",
        "DATABASE_URL": database_url(),
        "TRACING_ENABLED": tracing_enabled,
        "TRACING_SAMPLE_RATIO": "1.0",
        # Nothing is exported in this probe; the batch processor's export would only wait.
        "ZIPKIN_ENDPOINT": "http://127.0.0.1:9/api/v2/spans",
    }
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=TESTS_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    [answer] = [line for line in result.stdout.splitlines() if line.startswith("probe: ")]
    return json.loads(answer.removeprefix("probe: "))


def test_tracing_off_loads_no_sdk_and_instruments_nothing():
    assert probe("false") == {
        "sdk_loaded": False,
        "provider": "ProxyTracerProvider",
        "django_middleware": False,
        "psycopg_wrapped": False,
    }


def test_tracing_on_instruments_django_and_psycopg_and_traces_only_requests_and_records():
    answer = probe("true")

    assert answer["provider"] == "TracerProvider"
    assert answer["django_middleware"] and answer["psycopg_wrapped"]
    # Probes and scrapes are not traced, nor is a query outside a request or a record (the
    # readiness probe's SELECT 1); the page nobody routes is a request like any other (its
    # route is the catch-all that answers JSON 404s).
    assert answer["statuses"] == [200, 200, 200, 404]
    assert answer["spans"] == [["GET <unrouted:path>", "SERVER", True]]


def test_a_request_not_sampled_runs_its_statements_without_tracing_work():
    answer = probe("true")

    assert answer["instrumented_when_sampled"] is True
    assert answer["instrumented_when_unsampled"] is False
    assert answer["instrumented_after"] is True


def zipkin_trace(trace_id: str) -> list[dict]:
    try:
        with urllib.request.urlopen(f"{ZIPKIN_URL}/api/v2/trace/{trace_id}", timeout=5) as answer:
            return json.loads(answer.read())
    except urllib.error.HTTPError as error:
        if error.code == 404:
            return []
        raise


@pytest.fixture
def zipkin() -> str:
    try:
        urllib.request.urlopen(f"{ZIPKIN_URL}/health", timeout=5).close()
    except OSError:
        if "ZIPKIN_URL" in os.environ:  # tools/test.sh and CI name one: it must answer
            raise
        pytest.skip(f"no Zipkin at {ZIPKIN_URL} (tools/infra.sh starts one)")
    return ZIPKIN_URL


def test_worker_continues_the_records_trace_and_exports_it_when_stopped(
    saga_config, zipkin, tmp_path
):
    config = dataclasses.replace(saga_config, topic_prefix=f"{saga_config.topic_prefix}trace-")
    create_topics(config)
    event = OrderPlacedEvent.new(
        order_id=1, order_number=uuid.uuid4(), sku_code="S", price=Decimal("2.50"), quantity=2
    )
    trace_id, parent_span_id = secrets.token_hex(16), secrets.token_hex(8)
    # A second order whose trace was not sampled upstream: nothing of it is recorded here, and
    # its context goes on unchanged, to stay unsampled downstream.
    unsampled = dataclasses.replace(event, event_id=uuid.uuid4(), order_number=uuid.uuid4())
    unsampled_parent = f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-00"
    for record, traceparent in (
        (event, f"00-{trace_id}-{parent_span_id}-01"),
        (unsampled, unsampled_parent),
    ):
        KafkaTestClient(config).send(
            config.topic(OrderPlacedEvent),
            encode(record),
            key=str(record.order_number),
            headers={"eventType": record.event_type, "traceparent": traceparent},
        )
    log = tmp_path / "worker.log"
    env = os.environ | {
        "SAGA_TOPIC_PREFIX": config.topic_prefix,
        "SAGA_CONSUMER_GROUP": f"trace-{uuid.uuid4().hex}",
        "DATABASE_URL": database_url(),
        "TRACING_ENABLED": "true",
        "ZIPKIN_ENDPOINT": f"{zipkin}/api/v2/spans",
        # Far beyond the test: only the flush on shutdown can get the spans out.
        "OTEL_BSP_SCHEDULE_DELAY": "600000",
    }
    with log.open("w") as output:
        worker = subprocess.Popen(
            [sys.executable, "manage.py", "consume_saga", "--port", "0"],
            cwd=TESTS_DIR,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for(
            lambda: (
                OutboxMessage.objects.filter(
                    key__in=[str(event.order_number), str(unsampled.order_number)],
                    sent_at__isnull=False,
                ).count()
                == 2
            ),
            timeout=60,
            message="both events handled and their outgoing events sent",
        )
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=60)
    assert worker.returncode == 0, log.read_text()[-5000:]
    assert Ledger.objects.filter(order_number=event.order_number).count() == 1

    spans = wait_for(
        lambda: (spans := zipkin_trace(trace_id)) and len(spans) > 2 and spans,
        timeout=15,
        message=f"trace {trace_id} in Zipkin",
    )
    [consumer] = [span for span in spans if span.get("kind") == "CONSUMER"]
    [producer] = [span for span in spans if span.get("kind") == "PRODUCER"]
    assert consumer["parentId"] == parent_span_id
    assert consumer["name"] == f"process {config.topic(OrderPlacedEvent)}"
    assert consumer["localEndpoint"]["serviceName"] == "runtime-service"
    tags = consumer["tags"]
    assert (tags["orderNumber"], tags["eventId"]) == (str(event.order_number), str(event.event_id))
    assert tags["messaging.destination.name"] == config.topic(OrderPlacedEvent)
    assert {"messaging.destination.partition.id", "messaging.kafka.offset"} <= set(tags)
    assert tags["saga.outcome"] == "handled"
    assert producer["parentId"] == consumer["id"]
    assert producer["name"].startswith("send ") and producer["name"].endswith(
        "order-confirmed-topic"
    )
    assert producer["tags"]["orderNumber"] == str(event.order_number)
    # The queries of the record's transaction are in its trace, under its span.
    assert any(
        span.get("kind") == "CLIENT" and span["parentId"] == consumer["id"] for span in spans
    )

    # The worker's log line about the record leads to that span.
    lines = {
        line["orderNumber"]: line
        for line in map(json.loads, log.read_text().splitlines())
        if line["message"] == "record handled"
    }
    handled = lines[str(event.order_number)]
    assert (handled["trace_id"], handled["span_id"]) == (trace_id, consumer["id"])
    assert (handled["orderNumber"], handled["eventId"]) == (
        str(event.order_number),
        str(event.event_id),
    )
    assert (handled["service"], handled["level"]) == ("runtime", "INFO")

    # The unsampled record: its outgoing event carries the context it came with, and its log
    # line names that trace; the flush that exported the sampled trace sent nothing of it.
    outgoing = OutboxMessage.objects.get(key=str(unsampled.order_number))
    assert outgoing.headers["traceparent"] == unsampled_parent
    _, unsampled_trace, unsampled_span, _ = unsampled_parent.split("-")
    line = lines[str(unsampled.order_number)]
    assert (line["trace_id"], line["span_id"]) == (unsampled_trace, unsampled_span)
    assert zipkin_trace(unsampled_trace) == []
