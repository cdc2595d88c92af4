"""Creating the contract's topics and their dead-letter twins (broker auto-creation is off)."""

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

from .conf import RuntimeConfig


def create_topics(config: RuntimeConfig, *, timeout: float = 30) -> dict[str, str]:
    """Create every missing topic; return ``{topic: "created" | "exists"}``.

    Safe to run any number of times and from several processes at once.
    """
    admin = AdminClient(config.admin_config())
    wanted = [
        NewTopic(
            topic,
            num_partitions=config.topic_partitions,
            replication_factor=config.topic_replication,
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
    return results


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
