"""Static group membership (``group.instance.id``) against the real broker: two workers of one
group share its partitions, and one restarted under its id gets its own back without a
rebalance (docs/decisions/0010)."""

import dataclasses
import logging
import time
import uuid

import pytest
from confluent_kafka import KafkaException

from saga_runtime.testing import wait_for
from saga_runtime.topics import create_topics
from saga_runtime.worker import SagaWorker, load_handlers

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_instance_id_is_set_only_when_given(saga_config):
    assert "group.instance.id" not in saga_config.consumer_config()
    assert saga_config.consumer_config(instance_id="order-worker-1")["group.instance.id"] == (
        "order-worker-1"
    )


def assignments(caplog) -> list[set]:
    """The partition sets every worker logged as assigned, in order."""
    return [
        {tuple(tp) for tp in record.partitions}
        for record in caplog.records
        if record.getMessage() == "partitions assigned"
    ]


def test_a_static_member_restarted_under_its_id_gets_its_partitions_back_without_a_rebalance(
    saga_config, caplog
):
    caplog.set_level(logging.INFO, logger="saga_runtime.worker")
    # Topics of its own: no records arrive, so polling only drives the group protocol.
    config = dataclasses.replace(saga_config, topic_prefix=f"{saga_config.topic_prefix}static-")
    create_topics(config)
    handlers = load_handlers(config.handlers_path)
    group = f"static-{uuid.uuid4().hex}"
    every_partition = {
        (config.topic(event_class), partition)
        for event_class in handlers
        for partition in range(config.topic_partitions)
    }

    def worker(instance_id: str) -> SagaWorker:
        return SagaWorker(handlers, config=config, group=group, instance_id=instance_id)

    first, second = worker("worker-1"), worker("worker-2")
    workers = [first, second]
    try:

        def shared(*members: SagaWorker) -> bool:
            for member in members:
                member.poll_once(timeout=0.1)
            return all(m.assigned for m in members) and (
                set().union(*(m.assigned for m in members)) == every_partition
            )

        wait_for(lambda: shared(first, second), timeout=60, message="both to get partitions")
        assert not first.assigned & second.assigned
        held, kept = set(first.assigned), set(second.assigned)

        # A static member does not leave the group on close, as after a kill -9: its partitions
        # stay its own until its session times out (10 s), or until it is back.
        first.consumer.close()
        workers.remove(first)
        caplog.clear()
        started = time.monotonic()
        again = worker("worker-1")
        workers.append(again)
        wait_for(lambda: shared(again, second), timeout=60, message="the restarted member")
        back_after = time.monotonic() - started

        assert again.assigned == held
        assert second.assigned == kept
        # One assignment, the restarted member's: the other member saw no rebalance.
        assert assignments(caplog) == [held]
        # Well inside the session timeout a dynamic member's restart would wait out.
        assert back_after < 5, f"back after {back_after:.1f} s"
    finally:
        for member in workers:
            member.consumer.close()


def test_a_worker_fenced_by_another_with_its_instance_id_stops_instead_of_idling(saga_config):
    config = dataclasses.replace(saga_config, topic_prefix=f"{saga_config.topic_prefix}static-")
    create_topics(config)
    handlers = load_handlers(config.handlers_path)
    group = f"fenced-{uuid.uuid4().hex}"
    first = SagaWorker(handlers, config=config, group=group, instance_id="worker-1")
    impostor = None
    try:
        wait_for(lambda: first.poll_once(timeout=0.1) or first.assigned, timeout=60)
        # Only now: a consumer joins its group in the background from the moment it subscribes,
        # so an impostor made with the first could join first and have the first one fenced.
        impostor = SagaWorker(handlers, config=config, group=group, instance_id="worker-1")

        def fenced() -> bool:
            impostor.poll_once(timeout=0.1)
            first.poll_once(timeout=0.1)
            return False

        # The broker hands the id to the newcomer; the old consumer's error ends its loop.
        with pytest.raises(KafkaException, match="fenced"):
            wait_for(fenced, timeout=60, message="the first worker to be fenced")
    finally:
        first.consumer.close()
        if impostor is not None:
            impostor.consumer.close()
