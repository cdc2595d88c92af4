"""gunicorn settings shared by the four web processes: JSON log lines, spans flushed on exit.

Each project's ``gunicorn.conf.py`` (which gunicorn reads from its working directory) names
its service::

    from saga_runtime.gunicorn import json_logger, worker_exit  # noqa: F401

    logger_class = json_logger("order")
"""

import sys

from gunicorn.glogging import Logger

from . import tracing
from .logs import ContextFilter, JsonFormatter


def json_logger(service: str) -> type[Logger]:
    """gunicorn's logger, its error and access lines written as the services' JSON lines.

    gunicorn's own loggers do not propagate to Django's handlers, so they get the same
    formatter and filter here, in the master process as much as in its workers.
    """

    class JsonLogger(Logger):
        def setup(self, cfg) -> None:
            super().setup(cfg)
            for log in (self.error_log, self.access_log):
                for handler in log.handlers:
                    handler.setFormatter(JsonFormatter())
                    handler.addFilter(ContextFilter(service=service))
                    # gunicorn writes its error log ("-") to stderr; ours all go to stdout.
                    if getattr(handler, "stream", None) is sys.stderr:
                        handler.setStream(sys.stdout)

    return JsonLogger


def worker_exit(server, worker) -> None:
    """Export the spans of a stopping web worker that its batch processor still holds."""
    tracing.flush()
