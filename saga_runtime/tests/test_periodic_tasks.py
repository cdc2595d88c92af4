"""Periodic tasks (``SAGA_PERIODIC_TASKS``): the worker runs each in a thread of its own beside
the consumer loop, keeps running it after a failure, and stops it with itself."""

import dataclasses
import threading

import pytest
from testapp import handlers
from testapp.models import Ledger

from saga_runtime.testing import wait_for
from saga_runtime.worker import SagaWorker, load_handlers, load_periodic_tasks

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_worker_runs_its_periodic_tasks_again_after_a_failure_and_stops_them_with_itself(
    saga_config,
):
    config = dataclasses.replace(saga_config, periodic_tasks_path="testapp.handlers.PERIODIC_TASKS")
    worker = SagaWorker(load_handlers(config.handlers_path), config=config, group="periodic")
    handlers.ticks.clear()
    running = threading.Thread(target=worker.run, kwargs={"relay": False})
    running.start()
    try:
        # The first run failed; the next ones wrote to the database from the task's thread.
        wait_for(lambda: Ledger.objects.count() >= 2, message="two successful runs")
    finally:
        worker.stop()
        running.join(30)
    assert not running.is_alive()
    assert not [t for t in threading.enumerate() if t.name == "tick"]


@pytest.mark.parametrize("tasks", [{print: 0}, {print: "1"}, {"not callable": 1.0}])
def test_periodic_tasks_that_cannot_run_are_refused(monkeypatch, tasks):
    monkeypatch.setattr(handlers, "PERIODIC_TASKS", tasks)

    with pytest.raises(TypeError, match="must be callable with a positive number of seconds"):
        load_periodic_tasks("testapp.handlers.PERIODIC_TASKS")


def test_no_path_means_no_periodic_tasks():
    assert load_periodic_tasks("") == {}
