"""Liveness and readiness answer from the real state of the database, the broker and the loop.

An unreachable dependency is a real refused connection: a port nothing listens on.
"""

import dataclasses
import json
import threading
import time
import urllib.error
import urllib.request
import uuid

import pytest
from django.test import Client

from saga_runtime.health import LIVENESS_SECONDS, WorkerHealthServer
from saga_runtime.testing import closed_port, database_unreachable, wait_for
from saga_runtime.worker import SagaWorker, load_handlers

pytestmark = pytest.mark.django_db(transaction=True)


def get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.fixture
def make_worker(saga_config):
    """A fresh worker (nothing assigned yet) with its health server on a free port."""
    started: list[tuple[SagaWorker, WorkerHealthServer]] = []

    def make(config=saga_config) -> tuple[SagaWorker, str]:
        worker = SagaWorker(
            load_handlers(config.handlers_path),
            config=config,
            group=f"{config.consumer_group}-health-{uuid.uuid4().hex[:8]}",
        )
        health = WorkerHealthServer(worker, port=0, host="127.0.0.1")
        started.append((worker, health))
        return worker, f"http://127.0.0.1:{health.server.server_address[1]}"

    yield make
    for worker, health in started:
        health.close()
        if not worker.stopping.is_set():  # run() closes its worker itself
            worker.consumer.close()
        worker.producer.flush(5)


def test_web_readiness_follows_the_database():
    client = Client()

    assert client.get("/health/ready").status_code == 200
    with database_unreachable():
        response = client.get("/health/ready")
        assert response.status_code == 503
        assert response.json() == {"status": "unavailable", "problems": ["database unavailable"]}
        # Alive all the same: a restart would not bring the database back.
        assert client.get("/health/live").status_code == 200
    assert client.get("/health/ready").status_code == 200


def test_worker_is_ready_once_it_has_partitions(make_worker):
    worker, url = make_worker()

    status, body = get(f"{url}/health/ready")
    assert status == 503
    assert body["problems"] == ["kafka: no partitions assigned yet"]

    wait_for(lambda: worker.poll_once(0.2) or worker.assigned, message="an assignment")
    assert get(f"{url}/health/ready") == (200, {"status": "ready"})


def test_worker_is_not_ready_while_its_database_is_unreachable(make_worker):
    worker, url = make_worker()
    wait_for(lambda: worker.poll_once(0.2) or worker.assigned, message="an assignment")

    with database_unreachable():
        assert get(f"{url}/health/ready") == (
            503,
            {"status": "unavailable", "problems": ["database unavailable"]},
        )
    assert get(f"{url}/health/ready")[0] == 200


def test_worker_is_not_ready_while_its_broker_is_unreachable(make_worker, saga_config):
    unreachable = dataclasses.replace(saga_config, bootstrap_servers=f"127.0.0.1:{closed_port()}")
    _worker, url = make_worker(unreachable)

    status, body = get(f"{url}/health/ready")
    assert status == 503
    assert "kafka unavailable" in body["problems"]


def test_worker_is_live_while_its_loop_comes_round_and_not_when_it_stalls(make_worker):
    worker, url = make_worker()
    loop = threading.Thread(target=worker.run, kwargs={"relay": False})
    loop.start()
    try:
        wait_for(lambda: worker.assigned, message="an assignment")
        assert get(f"{url}/health/live") == (200, {"status": "live"})
        seen = worker.last_progress
        wait_for(lambda: worker.last_progress > seen, message="the loop to come round again")
        assert get(f"{url}/health/live")[0] == 200
    finally:
        worker.stop()
        loop.join(30)

    # The loop has stopped; its last round is as old as a stalled one's once the limit passed.
    worker.last_progress = time.monotonic() - LIVENESS_SECONDS - 1
    status, body = get(f"{url}/health/live")
    assert status == 503
    assert body["problems"][0].startswith("consumer loop idle for")
