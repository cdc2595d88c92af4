"""Creating the contract's topics and their dead-letter twins (broker auto-creation is off)."""

import time

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    NewTopic,
    ResourceType,
)

from .conf import RuntimeConfig


class TopicMismatch(Exception):
    """A topic exists with another number of partitions than the configured one."""


def create_topics(config: RuntimeConfig, *, timeout: float = 30) -> dict[str, str]:
    """Create every missing topic; return ``{topic: "created" | "exists"}``.

    Every topic, new or not, gets the configured ``min.insync.replicas`` (a topic created
    before it was set gets it too). Safe to run any number of times and from several processes
    at once. Raises TopicMismatch if a topic exists with another number of partitions: an
    order's events are ordered within one partition, and workers are sized by the count, so it
    is never quietly accepted.
    """
    admin = AdminClient(config.admin_config())
    min_insync = str(config.topic_min_insync_replicas)
    wanted = [
        NewTopic(
            topic,
            num_partitions=config.topic_partitions,
            replication_factor=config.topic_replication,
            config={"min.insync.replicas": min_insync},
        )
        for topic in config.all_topics()
    ]
    results = {}
    for topic, future in admin.create_topics(wanted, request_timeout=timeout).items():
        try:
            future.result(timeout)
            results[topic] = "created"
        except KafkaException as error:
            if error.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise
            results[topic] = "exists"
    existing = [topic for topic, result in results.items() if result == "exists"]
    if existing:
        found = _metadata_of(admin, existing, timeout)
        wrong = {
            topic: len(found[topic].partitions)
            for topic in existing
            if len(found[topic].partitions) != config.topic_partitions
        }
        if wrong:
            listed = ", ".join(f"{topic} ({count})" for topic, count in sorted(wrong.items()))
            raise TopicMismatch(
                f"{len(wrong)} topics exist with other than {config.topic_partitions}"
                f" partitions: {listed}. Add partitions (kafka-topics.sh --alter) once the"
                " topic is drained, since keys move to other partitions, or recreate it."
            )
        setting = ConfigEntry(
            "min.insync.replicas", min_insync, incremental_operation=AlterConfigOpType.SET
        )
        resources = [
            ConfigResource(ResourceType.TOPIC, topic, incremental_configs=[setting])
            for topic in existing
        ]
        for future in admin.incremental_alter_configs(resources, request_timeout=timeout).values():
            future.result(timeout)
    return results


def _metadata_of(admin: AdminClient, topics: list[str], timeout: float) -> dict:
    """The metadata of ``topics``, once the broker answering has it: a topic another process
    has just created exists before every broker's metadata shows it."""
    deadline = time.monotonic() + timeout
    while True:
        found = admin.list_topics(timeout=timeout).topics
        missing = [topic for topic in topics if topic not in found]
        if not missing:
            return found
        if time.monotonic() > deadline:
            raise KafkaException(f"{', '.join(missing)}: exist, yet not in the broker's metadata")
        time.sleep(0.1)


def delete_topics(bootstrap_servers: str, prefix: str, *, timeout: float = 30) -> list[str]:
    """Delete every topic whose name starts with ``prefix``; return their names.

    For test sessions, e2e runs and benchmarks, which make topics of their own under a prefix:
    left behind, they pile up run after run until the broker runs out of file descriptors (a
    few per partition). Refuses an empty prefix, which would mean every topic.
    """
    if not prefix:
        raise ValueError("delete_topics needs a prefix: an empty one would delete every topic")
    admin = AdminClient({"bootstrap.servers": bootstrap_servers})
    names = [t for t in admin.list_topics(timeout=timeout).topics if t.startswith(prefix)]
    if names:
        for future in admin.delete_topics(names, request_timeout=timeout).values():
            future.result(timeout)
    return names
