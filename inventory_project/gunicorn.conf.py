"""gunicorn reads this file from its working directory: JSON log lines, spans flushed on exit,
one /metrics for all of its processes (saga_runtime.gunicorn)."""

from saga_runtime.gunicorn import *  # noqa: F403 (its hooks, which gunicorn finds by name)
from saga_runtime.gunicorn import json_logger

logger_class = json_logger("inventory")
