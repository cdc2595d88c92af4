"""The runtime's view of Django settings, built on first use rather than at import time."""

import logging
from dataclasses import dataclass
from functools import cache

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

from saga_events import Event
from saga_events.topics import DEFAULT_TOPICS, dead_letter_topic

#: librdkafka's own messages go through this logger (and so the JSON formatter) instead of
#: straight to stderr as plain text.
KAFKA_LOGGER = logging.getLogger("kafka")


@dataclass(frozen=True)
class RuntimeConfig:
    service: str
    bootstrap_servers: str
    topic_prefix: str
    topic_partitions: int
    topic_replication: int
    topic_min_insync_replicas: int
    consumer_group: str
    #: The worker's static membership id in its consumer group (None: dynamic membership).
    group_instance_id: str | None
    handlers_path: str
    periodic_tasks_path: str
    worker_port: int
    retention_days: int
    purge_interval_seconds: float
    max_consecutive_failures: int
    max_handler_attempts: int
    retry_backoff_max_seconds: float
    relay_poll_seconds: float
    batch_max_records: int
    commit_interval_seconds: float

    def topic(self, event_class: type[Event]) -> str:
        return self.topic_prefix + DEFAULT_TOPICS[event_class]

    def all_topics(self) -> list[str]:
        """Every contract topic and its dead-letter twin."""
        topics = [self.topic_prefix + name for name in DEFAULT_TOPICS.values()]
        return topics + [dead_letter_topic(name) for name in topics]

    def producer_config(self) -> dict:
        return {
            "bootstrap.servers": self.bootstrap_servers,
            "logger": KAFKA_LOGGER,
            "client.id": f"{self.service}-service",
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": 5,
            "compression.type": "lz4",
        }

    def consumer_config(self, group: str | None = None, instance_id: str | None = None) -> dict:
        """A consumer of ``group`` (default: the service's group); with ``instance_id``, a static
        member of it (``group.instance.id``, docs/decisions/0010).

        The instance id is never added by default: only the worker's own consumer is that
        member; a second consumer with the same id (a reader, a dead-letter replay) would fence
        it out of its group.
        """
        config = {
            "bootstrap.servers": self.bootstrap_servers,
            "logger": KAFKA_LOGGER,
            "client.id": f"{self.service}-service",
            "group.id": group or self.consumer_group,
            "auto.offset.reset": "earliest",
            # Offsets are committed by hand, after the record's transaction has committed.
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "isolation.level": "read_committed",
            # How long the group waits for a member that stopped heartbeating (killed, or its
            # host gone) before giving its partitions to the others: librdkafka's 45 s default
            # kept a restarted worker's partitions idle for ~43 s after a kill -9 (10 s: ~10 s).
            # Heartbeats come from librdkafka's own thread, so a long batch does not miss them.
            "session.timeout.ms": 10000,
            "heartbeat.interval.ms": 2000,
        }
        if instance_id:
            # A member with a stable identity: restarted under the same id it gets its
            # partitions back at once, without a rebalance, and a stop does not leave the group
            # (its partitions wait for it until the session timeout).
            config["group.instance.id"] = instance_id
        return config

    def admin_config(self) -> dict:
        return {"bootstrap.servers": self.bootstrap_servers, "logger": KAFKA_LOGGER}


@cache
def get_config() -> RuntimeConfig:
    return RuntimeConfig(
        service=settings.SERVICE_NAME,
        bootstrap_servers=settings.KAFKA_BOOTSTRAP_SERVERS,
        topic_prefix=settings.SAGA_TOPIC_PREFIX,
        topic_partitions=settings.SAGA_TOPIC_PARTITIONS,
        topic_replication=settings.SAGA_TOPIC_REPLICATION,
        topic_min_insync_replicas=settings.SAGA_TOPIC_MIN_INSYNC_REPLICAS,
        consumer_group=settings.SAGA_CONSUMER_GROUP,
        group_instance_id=settings.SAGA_GROUP_INSTANCE_ID,
        handlers_path=settings.SAGA_HANDLERS,
        periodic_tasks_path=settings.SAGA_PERIODIC_TASKS,
        worker_port=settings.SAGA_WORKER_PORT,
        retention_days=settings.SAGA_RETENTION_DAYS,
        purge_interval_seconds=settings.SAGA_PURGE_INTERVAL_SECONDS,
        max_consecutive_failures=settings.SAGA_MAX_CONSECUTIVE_FAILURES,
        max_handler_attempts=settings.SAGA_MAX_HANDLER_ATTEMPTS,
        retry_backoff_max_seconds=settings.SAGA_RETRY_BACKOFF_MAX_SECONDS,
        relay_poll_seconds=settings.SAGA_RELAY_POLL_SECONDS,
        batch_max_records=settings.SAGA_BATCH_MAX_RECORDS,
        commit_interval_seconds=settings.SAGA_COMMIT_INTERVAL_SECONDS,
    )


@receiver(setting_changed)
def _forget_config(**kwargs) -> None:
    get_config.cache_clear()
