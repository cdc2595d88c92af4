"""Liveness and readiness: views for the web process, a small HTTP server for the worker."""

import json
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING

from confluent_kafka.admin import AdminClient
from django.db import connection
from django.http import HttpRequest, JsonResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

if TYPE_CHECKING:
    from .worker import SagaWorker

logger = logging.getLogger(__name__)

#: A worker whose loop has not come round for this long is stuck (its poll timeout is 1 s and
#: its longest retry backoff well under this).
LIVENESS_SECONDS = 60


def database_ready() -> str | None:
    """None if the database answers, else a problem to report (the details go to the log)."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return None
    except Exception:
        logger.warning("readiness: the database does not answer", exc_info=True)
        return "database unavailable"


def live(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "live"})


def ready(request: HttpRequest) -> JsonResponse:
    problem = database_ready()
    if problem:
        return JsonResponse({"status": "unavailable", "problems": [problem]}, status=503)
    return JsonResponse({"status": "ready"})


class WorkerHealthServer:
    """Serves ``/metrics``, ``/health/live`` and ``/health/ready`` for a worker, in a thread.

    Ready: the database and the broker answer and the consumer has partitions. Live: the
    consumer loop came round within the last minute.
    """

    def __init__(self, worker: "SagaWorker", *, port: int, host: str = "0.0.0.0") -> None:
        self.worker = worker
        self.admin = AdminClient(worker.config.admin_config())
        self.server = ThreadingHTTPServer((host, port), self._handler_class())
        self.thread = threading.Thread(
            target=self.server.serve_forever, name="worker-health", daemon=True
        )
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def readiness_problems(self) -> list[str]:
        problems = []
        try:
            if problem := database_ready():
                problems.append(problem)
        finally:
            connection.close()  # this request's thread ends now; so must its connection
        try:
            self.admin.list_topics(timeout=3)
        except Exception:
            logger.warning("readiness: the Kafka broker does not answer", exc_info=True)
            problems.append("kafka unavailable")
        if not self.worker.assigned:
            problems.append("kafka: no partitions assigned yet")
        return problems

    def liveness_problems(self) -> list[str]:
        idle = time.monotonic() - self.worker.last_progress
        return [f"consumer loop idle for {idle:.0f}s"] if idle > LIVENESS_SECONDS else []

    def _handler_class(self):
        health = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/metrics":
                    self._send(200, generate_latest(), CONTENT_TYPE_LATEST)
                elif self.path in ("/health/live", "/health/ready"):
                    check = self.path.rsplit("/", 1)[1]
                    problems = (
                        health.liveness_problems()
                        if check == "live"
                        else health.readiness_problems()
                    )
                    body = (
                        {"status": "unavailable", "problems": problems}
                        if problems
                        else {"status": check}
                    )
                    self._send(503 if problems else 200, json.dumps(body).encode())
                else:
                    self._send(404, b'{"status": 404, "detail": "Not found."}')

            def _send(self, status: int, body: bytes, content_type="application/json") -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args) -> None:
                logger.debug("health %s", format % args)

        return Handler
