"""gunicorn reads this file from its working directory: JSON log lines, spans flushed on exit,
one /metrics for all of its processes (saga_runtime.gunicorn)."""

from saga_runtime.gunicorn import (  # noqa: F401
    child_exit,
    json_logger,
    on_exit,
    on_starting,
    worker_exit,
)

logger_class = json_logger("inventory")
