"""Topic creation against the real broker."""

import dataclasses
import time
import uuid

import pytest
from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, ConfigResource, ConfigSource, NewTopic
from django.core.management import call_command
from django.core.management.base import CommandError

from saga_runtime.topics import TopicMismatch, create_topics, delete_topics


def test_every_contract_topic_and_its_dead_letter_twin_exist_with_three_partitions(saga_config):
    topics = AdminClient(saga_config.admin_config()).list_topics(timeout=10).topics
    for name in saga_config.all_topics():
        assert name in topics
        assert len(topics[name].partitions) == 3
    assert len(saga_config.all_topics()) == 26  # 13 contract topics, each with a .DLT twin
    assert f"{saga_config.topic_prefix}order-placed-topic.DLT" in topics


def _wait_for_min_insync_replicas(admin: AdminClient, topic: str, value: str) -> None:
    """Until ``topic`` has ``min.insync.replicas`` = ``value`` set on the topic itself (not the
    broker's default, which may be the same number). A topic just created, or just altered, is
    seen by the broker's metadata a moment later."""
    resource = ConfigResource("topic", topic)
    deadline = time.monotonic() + 30
    while True:
        try:
            entry = admin.describe_configs([resource])[resource].result(30)
            seen = entry["min.insync.replicas"]
            seen = (seen.value, ConfigSource(seen.source))
        except KafkaException as error:
            if error.args[0].code() != KafkaError.UNKNOWN_TOPIC_OR_PART:
                raise
            seen = None
        if seen == (value, ConfigSource.DYNAMIC_TOPIC_CONFIG):
            return
        assert time.monotonic() < deadline, f"{topic}: min.insync.replicas {seen}"
        time.sleep(0.1)


def test_every_topic_gets_min_insync_replicas_even_one_created_before(saga_config):
    config = dataclasses.replace(
        saga_config, topic_prefix=f"insync-{uuid.uuid4().hex[:8]}-", topic_min_insync_replicas=1
    )
    admin = AdminClient(config.admin_config())
    older = f"{config.topic_prefix}order-placed-topic"  # as created before the setting existed
    admin.create_topics([NewTopic(older, num_partitions=3, replication_factor=1)])[older].result(30)
    try:
        results = create_topics(config)
        assert results[older] == "exists"
        _wait_for_min_insync_replicas(admin, older, "1")
        _wait_for_min_insync_replicas(
            admin, f"{config.topic_prefix}payment-succeeded-topic.DLT", "1"
        )
    finally:
        delete_topics(config.bootstrap_servers, config.topic_prefix)


def test_creating_topics_again_changes_nothing(saga_config, capsys):
    assert set(create_topics(saga_config).values()) == {"exists"}
    call_command("create_topics")
    assert "created" not in capsys.readouterr().out


def test_a_topic_that_exists_with_other_partitions_is_refused_by_name(saga_config, settings):
    config = dataclasses.replace(saga_config, topic_prefix=f"mismatch-{uuid.uuid4().hex[:8]}-")
    admin = AdminClient(config.admin_config())
    one_partition = f"{config.topic_prefix}order-placed-topic"
    admin.create_topics([NewTopic(one_partition, num_partitions=1, replication_factor=1)])[
        one_partition
    ].result(30)
    try:
        with pytest.raises(
            TopicMismatch, match=rf"1 topics .* 3 partitions: {one_partition} \(1\)"
        ):
            create_topics(config)
        settings.SAGA_TOPIC_PREFIX = config.topic_prefix
        with pytest.raises(CommandError, match=rf"{one_partition} \(1\)"):
            call_command("create_topics")
    finally:
        delete_topics(config.bootstrap_servers, config.topic_prefix)
