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
    "request_middleware": [
        name for name in settings.MIDDLEWARE if "tracing" in name or "opentelemetry" in name
    ],
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
    # What a view sees of tracing, for a request with no trace, one sampled, one not, a probe.
    from django.http import JsonResponse
    from django.test import RequestFactory
    from opentelemetry import propagate
    from opentelemetry.instrumentation.utils import is_instrumentation_enabled
    from saga_runtime.request_tracing import RequestTracingMiddleware

    def view(request):
        span = trace.get_current_span()
        headers = {}
        propagate.inject(headers)
        return JsonResponse({
            "recording": span.is_recording(),
            "instrumented": is_instrumentation_enabled(),
            "traceparent": headers.get("traceparent"),
        })

    middleware, requests = RequestTracingMiddleware(view), RequestFactory(HTTP_HOST="localhost")
    exporter.clear()
    def through(path, **headers):
        return json.loads(middleware(requests.get(path, **headers)).content)
    answer["views"] = {
        "no trace": through("/api/orders"),
        "sampled": through("/api/orders", HTTP_TRACEPARENT=f"00-{'a' * 32}-{'b' * 16}-01"),
        "unsampled": through("/api/orders", HTTP_TRACEPARENT=f"00-{'c' * 32}-{'d' * 16}-00"),
        "probe": through("/health/ready"),
    }
    answer["recorded"] = sorted(
        (
            span.name,
            format(span.context.trace_id, "032x"),
            span.parent and format(span.parent.span_id, "016x"),
        )
        for span in exporter.get_finished_spans()
    )
    answer["instrumented_after"] = is_instrumentation_enabled()
print("probe:", json.dumps(answer))  # among the log lines, which go to stdout too
"""


def database_url() -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def probe(tracing_enabled: str, ratio: str = "1.0") -> dict:
    env = os.environ | {
        "DJANGO_SETTINGS_MODULE": "testproject.settings",
        "DATABASE_URL": database_url(),
        "TRACING_ENABLED": tracing_enabled,
        "TRACING_SAMPLE_RATIO": ratio,
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
        "request_middleware": [],
        "psycopg_wrapped": False,
    }


def test_tracing_on_instruments_django_and_psycopg_and_traces_only_requests_and_records():
    answer = probe("true")

    assert answer["provider"] == "TracerProvider"
    assert answer["psycopg_wrapped"]
    # OpenTelemetry's Django middleware, behind one that skips it for requests not recorded.
    assert answer["request_middleware"] == ["saga_runtime.request_tracing.RequestTracingMiddleware"]
    # Probes and scrapes are not traced, nor is a query outside a request or a record (the
    # readiness probe's SELECT 1); the page nobody routes is a request like any other (its
    # route is the catch-all that answers JSON 404s).
    assert answer["statuses"] == [200, 200, 200, 404]
    assert answer["spans"] == [["GET <unrouted:path>", "SERVER", True]]


def traceparent_parts(traceparent: str) -> tuple[str, str]:
    """The trace id and the flags of a ``traceparent`` header."""
    version, trace_id, span_id, flags = traceparent.split("-")
    assert (version, len(span_id)) == ("00", 16)
    return trace_id, flags


def test_at_ratio_one_every_request_is_recorded_but_one_continuing_an_unsampled_trace():
    answer = probe("true", ratio="1.0")
    views = answer["views"]

    assert views["no trace"]["recording"] and views["no trace"]["instrumented"]
    assert views["sampled"]["recording"] and views["sampled"]["instrumented"]
    assert traceparent_parts(views["sampled"]["traceparent"]) == ("a" * 32, "01")
    # Not recorded, and nothing of tracing done inside; its events carry the trace on as it came.
    assert views["unsampled"] == {
        "recording": False,
        "instrumented": False,
        "traceparent": f"00-{'c' * 32}-{'d' * 16}-00",
    }
    assert views["probe"] == {"recording": False, "instrumented": False, "traceparent": None}
    assert answer["instrumented_after"] is True
    no_trace_id, _ = traceparent_parts(views["no trace"]["traceparent"])
    assert [(trace_id, parent) for _, trace_id, parent in answer["recorded"]] == sorted(
        [(no_trace_id, None), ("a" * 32, "b" * 16)]
    )


def test_at_ratio_zero_a_request_starts_an_unsampled_trace_and_does_no_tracing_work():
    answer = probe("true", ratio="0")
    views = answer["views"]

    # A new trace, not sampled: the events the request publishes carry it, so the whole saga
    # stays unsampled downstream instead of each service starting traces of its own.
    assert not views["no trace"]["recording"] and not views["no trace"]["instrumented"]
    trace_id, flags = traceparent_parts(views["no trace"]["traceparent"])
    assert not int(flags, 16) & 1 and trace_id != "0" * 32
    # A trace sampled upstream is recorded whatever the ratio.
    assert views["sampled"]["recording"] and views["sampled"]["instrumented"]
    assert not views["unsampled"]["recording"] and not views["unsampled"]["instrumented"]
    # A probe is in no trace at all, whatever the ratio.
    assert views["probe"] == {"recording": False, "instrumented": False, "traceparent": None}
    assert answer["spans"] == []
    assert [(trace_id, parent) for _, trace_id, parent in answer["recorded"]] == [
        ("a" * 32, "b" * 16)
    ]
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
    assert (handled["topic"], handled["outcome"]) == (config.topic(OrderPlacedEvent), "handled")
    assert handled["partition"].isdigit() and handled["offset"].isdigit()

    # The unsampled record: its outgoing event carries the context it came with, and its log
    # line names that trace; the flush that exported the sampled trace sent nothing of it.
    outgoing = OutboxMessage.objects.get(key=str(unsampled.order_number))
    assert outgoing.headers["traceparent"] == unsampled_parent
    _, unsampled_trace, unsampled_span, _ = unsampled_parent.split("-")
    line = lines[str(unsampled.order_number)]
    assert (line["trace_id"], line["span_id"]) == (unsampled_trace, unsampled_span)
    assert zipkin_trace(unsampled_trace) == []
