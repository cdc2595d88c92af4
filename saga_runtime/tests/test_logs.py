import json
import logging
import os
import subprocess
import sys
from pathlib import Path

from opentelemetry.trace import NonRecordingSpan, SpanContext

from saga_runtime.logs import ContextFilter, JsonFormatter, log_context, span_fields


def test_a_log_line_is_one_json_object_with_service_and_saga_fields():
    record = logging.makeLogRecord({"msg": "record %s", "args": ("handled",), "levelname": "INFO"})
    with log_context(orderNumber="abc", eventId="e-1"):
        ContextFilter(service="order").filter(record)
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "record handled"
    assert (line["service"], line["orderNumber"], line["eventId"]) == ("order", "abc", "e-1")
    assert line["level"] == "INFO"


def test_a_line_given_a_spans_fields_names_that_span_not_the_current_one():
    span = NonRecordingSpan(SpanContext(trace_id=0xA1, span_id=0xB2, is_remote=True))
    record = logging.makeLogRecord({"msg": "record handled", **span_fields(span)})
    ContextFilter(service="order").filter(record)  # outside any span
    line = json.loads(JsonFormatter().format(record))
    assert (line["trace_id"], line["span_id"]) == (f"{0xA1:032x}", f"{0xB2:016x}")


def test_a_line_outside_a_trace_has_null_trace_fields():
    record = logging.makeLogRecord({"msg": "started"})
    ContextFilter(service="order").filter(record)
    line = json.loads(JsonFormatter().format(record))
    assert (line["trace_id"], line["span_id"]) == (None, None)


def test_a_service_writes_its_log_lines_to_stdout_and_nothing_to_stderr():
    logged = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django, logging; django.setup();"
            " logging.getLogger('saga_runtime.worker').info('record handled')",
        ],
        cwd=Path(__file__).parent,
        env=os.environ | {"DJANGO_SETTINGS_MODULE": "testproject.settings"},
        capture_output=True,
        text=True,
        check=True,
    )

    assert logged.stderr == ""
    [line] = [json.loads(text) for text in logged.stdout.splitlines()]
    assert (line["message"], line["service"], line["level"]) == (
        "record handled",
        "runtime",
        "INFO",
    )
