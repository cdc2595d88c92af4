from confluent_kafka import KafkaException
from django.core.management.base import BaseCommand, CommandError

from saga_runtime.conf import get_config
from saga_runtime.dead_letters import replay_dead_letters
from saga_runtime.management.arguments import add_dead_letter_arguments


class Command(BaseCommand):
    help = (
        "Send the records this service's worker parked on <topic>.DLT back to <topic>, once "
        "the cause is fixed; each record is replayed once, however often this runs. "
        "Example: python manage.py replay_dead_letters order-placed-topic --dry-run"
    )

    def add_arguments(self, parser):
        add_dead_letter_arguments(
            parser, limit_help="Replay at most this many records, oldest first."
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="List the records that would be replayed; send and record nothing.",
        )

    def handle(self, *args, topic: str, limit: int | None, dry_run: bool, **options):
        try:
            records = replay_dead_letters(get_config(), [topic], limit=limit, dry_run=dry_run)
        except KafkaException as error:
            raise CommandError(f"Replay stopped: {error}") from error
        verb = "would replay" if dry_run else "replayed"
        for record in records:
            self.stdout.write(
                f"{verb} partition {record.partition} offset {record.offset} "
                f"key {record.key_text}: {record.error_class}: {record.error_message}"
            )
        if dry_run:
            self.stdout.write(
                f"{len(records)} records would be replayed to {topic} (dry run: nothing sent)."
            )
        else:
            self.stdout.write(f"{len(records)} records replayed to {topic}.")
