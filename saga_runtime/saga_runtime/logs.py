"""One JSON object per log line, carrying the service, the trace and the saga being handled."""

import contextvars
import json
import logging
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
        record.service = self.service
        for key, value in (_saga_context.get() or {}).items():
            if not hasattr(record, key):
                setattr(record, key, value)
        # Always present (null outside a trace), so every line has the same shape to query.
        span_context = trace.get_current_span().get_span_context()
        record.trace_id = format(span_context.trace_id, "032x") if span_context.is_valid else None
        record.span_id = format(span_context.span_id, "016x") if span_context.is_valid else None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update(
            (key, value) for key, value in record.__dict__.items() if key not in _STANDARD_ATTRS
        )
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)
