import io
import json
import logging
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from opentelemetry.trace import NonRecordingSpan, SpanContext

from saga_runtime.logs import (
    ContextFilter,
    JsonFormatter,
    StreamHandler,
    log_context,
    span_fields,
    written_together,
)


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


class RecordingStream(io.StringIO):
    """A stream that keeps each write apart."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[str] = []

    def write(self, text: str) -> int:
        self.writes.append(text)
        return super().write(text)


def handler_on(stream: RecordingStream) -> logging.Logger:
    handler = StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s"))
    log = logging.getLogger(f"test_logs.{id(stream)}")
    log.propagate = False
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    return log


def test_lines_logged_together_are_written_at_once_when_the_block_ends():
    stream = RecordingStream()
    log = handler_on(stream)
    log.info("before")
    with written_together():
        log.info("record 1")
        log.info("record 2")
        assert stream.writes == ["before\n"]
    log.info("after")
    assert stream.writes == ["before\n", "record 1\nrecord 2\n", "after\n"]


def test_lines_logged_together_are_written_even_when_the_block_raises():
    stream = RecordingStream()
    log = handler_on(stream)
    with pytest.raises(RuntimeError), written_together():
        log.info("record 1")
        raise RuntimeError("boom")
    assert stream.writes == ["record 1\n"]


def test_another_threads_line_is_not_held_back():
    stream = RecordingStream()
    log = handler_on(stream)
    with written_together():
        log.info("held")
        other = threading.Thread(target=log.info, args=("from another thread",))
        other.start()
        other.join()
        assert stream.writes == ["from another thread\n"]
    assert stream.writes == ["from another thread\n", "held\n"]
