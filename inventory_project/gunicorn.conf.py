"""gunicorn reads this file from its working directory: JSON log lines, spans flushed on exit."""

from saga_runtime.gunicorn import json_logger, worker_exit  # noqa: F401

logger_class = json_logger("inventory")
