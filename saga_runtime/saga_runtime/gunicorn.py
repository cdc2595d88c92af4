"""gunicorn settings shared by the four web processes: JSON log lines, spans flushed on exit,
one /metrics for all of a server's processes.

Each project's ``gunicorn.conf.py`` (which gunicorn reads from its working directory) names
its service::

    from saga_runtime.gunicorn import *  # noqa: F403 (its hooks, which gunicorn finds by name)
    from saga_runtime.gunicorn import json_logger

    logger_class = json_logger("order")
"""

import os
import shutil
import sys
import tempfile
from pathlib import Path

from gunicorn.glogging import Logger

from . import tracing
from .logs import ContextFilter, JsonFormatter

#: The server hooks, for a project's ``gunicorn.conf.py`` to import with ``*``.
__all__ = ["child_exit", "on_exit", "on_starting", "worker_exit"]


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


# prometheus_client's multiprocess mode: each gunicorn process writes its samples to files in
# PROMETHEUS_MULTIPROC_DIR, and /metrics (django-prometheus's view) adds them up, so a scrape
# counts every process's requests whichever process answers it. The variable must be set
# before any process imports prometheus_client, hence in the master, before it forks.
MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"
#: The directory on_starting made (removed on exit), or None if the environment named one.
made_dir: str | None = None


def on_starting(server) -> None:
    """Give this server an empty metrics directory: a fresh temporary one, unless
    PROMETHEUS_MULTIPROC_DIR names one, which is emptied (a previous run's files would be
    counted again)."""
    global made_dir
    if given := os.environ.get(MULTIPROC_DIR):
        for stale in Path(given).glob("*.db"):
            stale.unlink()
    else:
        made_dir = os.environ[MULTIPROC_DIR] = tempfile.mkdtemp(prefix="metrics-")


def child_exit(server, worker) -> None:
    """Drop a dead process's gauges that only live processes report."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server) -> None:
    if made_dir:
        shutil.rmtree(made_dir, ignore_errors=True)
