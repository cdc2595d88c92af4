from confluent_kafka import KafkaException
from django.core.management.base import BaseCommand, CommandError

from saga_events.topics import dead_letter_topic
from saga_runtime.conf import get_config
from saga_runtime.dead_letters import DeadLetter, parked_records
from saga_runtime.management.arguments import add_dead_letter_arguments


class Command(BaseCommand):
    help = (
        "List the records this service's worker parked on <topic>.DLT: where each came from, "
        "why, its key and the start of its value. Reads without joining a consumer group or "
        "committing anything. Example: python manage.py list_dead_letters payment-failed-topic"
    )

    def add_arguments(self, parser):
        add_dead_letter_arguments(
            parser, limit_help="List at most this many records, oldest first (all are counted)."
        )

    def handle(self, *args, topic: str, limit: int | None, **options):
        config = get_config()
        try:
            own, others = parked_records(config, [topic])
        except KafkaException as error:
            raise CommandError(f"Could not read {dead_letter_topic(topic)}: {error}") from error
        waiting = sum(record.replayed_at is None for record in own)
        shown = own[:limit]
        heading = (
            f"{len(own)} records parked by {config.service} on {dead_letter_topic(topic)}, "
            f"{waiting} not replayed"
        )
        if len(shown) < len(own):
            heading += f"; the first {len(shown)}"
        self.stdout.write(heading + (":" if shown else "."))
        for record in shown:
            self.stdout.write(describe(record))
        if others:
            self.stdout.write(
                f"Also there: {len(others)} records parked by other services "
                f"({', '.join(sorted({record.parked_by or '?' for record in others}))}); "
                "list them from that service."
            )


def describe(record: DeadLetter) -> str:
    replayed = (
        f"replayed {record.replayed_at:%Y-%m-%d %H:%M:%S} UTC"
        if record.replayed_at
        else "not replayed"
    )
    return (
        f"partition {record.partition} offset {record.offset}, parked "
        f"{record.parked_at:%Y-%m-%d %H:%M:%S} UTC, {replayed}\n"
        f"  from: {record.topic} partition {record.original_partition} "
        f"offset {record.original_offset}\n"
        f"  error: {record.error_class}: {record.error_message}\n"
        f"  key: {record.key_text}\n"
        f"  value: {record.value_preview()} ({len(record.value or b'')} bytes)"
    )
