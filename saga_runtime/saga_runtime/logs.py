"""One JSON object per log line, carrying the service, the trace and the saga being handled."""

import contextvars
import json
import logging
import logging.config
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from opentelemetry import trace

_saga_context: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar(
    "saga_log_context", default=None
)

# Attributes every LogRecord has; anything else was passed in `extra=` and is logged as a field.
_STANDARD_ATTRS = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


@contextmanager
def log_context(**fields: object) -> Iterator[None]:
    """Add fields (``orderNumber``, ``eventId``, ...) to every line logged inside the block."""
    added = {key: str(value) for key, value in fields.items()}
    token = _saga_context.set({**(_saga_context.get() or {}), **added})
    try:
        yield
    finally:
        _saga_context.reset(token)


class ContextFilter(logging.Filter):
    def __init__(self, service: str = "") -> None:
        super().__init__()
        self.service = service

    def filter(self, record: logging.LogRecord) -> bool:
        fields = record.__dict__
        fields["service"] = self.service
        for key, value in (_saga_context.get() or {}).items():
            fields.setdefault(key, value)
        if "trace_id" not in fields:  # unless the caller named the span (span_fields)
            fields.update(span_fields(trace.get_current_span()))
        return True


def span_fields(span: trace.Span) -> dict[str, str | None]:
    """The ``trace_id`` and ``span_id`` fields of a line about ``span``: always present (null
    outside a trace), so every line has the same shape to query."""
    span_context = span.get_span_context()
    if not span_context.is_valid:
        return {"trace_id": None, "span_id": None}
    return {
        "trace_id": format(span_context.trace_id, "032x"),
        "span_id": format(span_context.span_id, "016x"),
    }


_encode = json.JSONEncoder(default=str).encode


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        line |= {key: value for key, value in record.__dict__.items() if key not in _STANDARD_ATTRS}
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return _encode(line)


def configure(config: dict) -> None:
    """Django's ``LOGGING_CONFIG``: ``dictConfig``, with LogRecord spared what no line shows.

    The JSON lines never show the caller's file and line, its thread or its process, and
    finding them (the Logging HOWTO's "Optimization") was a sixth of a worker's line per record.
    """
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    logging._srcfile = None  # the HOWTO's documented switch
    logging.config.dictConfig(config)


_together = threading.local()


@contextmanager
def written_together() -> Iterator[None]:
    """The lines this thread logs inside the block reach each :class:`StreamHandler` in one
    write, when the block ends (however it ends).

    The worker logs a line per record of a committed batch. Written one by one, each line was a
    system call (the images run with ``PYTHONUNBUFFERED``), and each gave the GIL to the
    relay's thread and waited to take it back: a twentieth of the worker's time.
    """
    if getattr(_together, "pending", None) is not None:  # already inside such a block
        yield
        return
    _together.pending = {}
    try:
        yield
    finally:
        pending, _together.pending = _together.pending, None
        for handler, lines in pending.items():
            handler.write_lines(lines)


class StreamHandler(logging.StreamHandler):
    """``logging.StreamHandler``, which writes the lines of a :func:`written_together` block at
    once."""

    def emit(self, record: logging.LogRecord) -> None:
        pending = getattr(_together, "pending", None)
        if pending is None:
            super().emit(record)
            return
        try:
            pending.setdefault(self, []).append((self.format(record) + self.terminator, record))
        except Exception:
            self.handleError(record)

    def write_lines(self, lines: list[tuple[str, logging.LogRecord]]) -> None:
        with self.lock:
            try:
                self.stream.write("".join(line for line, _record in lines))
                self.flush()
            except Exception:
                self.handleError(lines[-1][1])
