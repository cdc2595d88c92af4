from confluent_kafka import KafkaException
from django.core.management.base import BaseCommand, CommandError

from saga_events.topics import DEFAULT_TOPICS
from saga_runtime.conf import get_config
from saga_runtime.dead_letters import replay_dead_letters


class Command(BaseCommand):
    help = (
        "Send the records parked on <topic>.DLT back to <topic>, once the cause is fixed; each "
        "record is replayed once. Example: python manage.py replay_dead_letters order-placed-topic"
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "topic", help="The contract's topic name, e.g. order-placed-topic (without .DLT)."
        )
        parser.add_argument("--limit", type=int, help="Replay at most this many records.")
        parser.add_argument(
            "--idle-seconds",
            type=float,
            default=5,
            help="Stop once no record has arrived for this long (5).",
        )

    def handle(self, *args, topic: str, limit: int | None, idle_seconds: float, **options):
        if topic not in DEFAULT_TOPICS.values():
            known = ", ".join(sorted(DEFAULT_TOPICS.values()))
            raise CommandError(f"Unknown topic {topic!r}; one of: {known}.")
        if limit is not None and limit < 1:
            raise CommandError("--limit must be 1 or more.")
        config = get_config()
        try:
            replayed = replay_dead_letters(
                config, config.topic_prefix + topic, limit=limit, idle_seconds=idle_seconds
            )
        except KafkaException as error:
            raise CommandError(f"Replay stopped: {error}") from error
        for record in replayed:
            self.stdout.write(
                f"replayed partition {record.partition} offset {record.offset} "
                f"key {record.key}: {record.error}"
            )
        self.stdout.write(f"{len(replayed)} records replayed to {config.topic_prefix + topic}.")
