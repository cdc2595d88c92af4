import argparse
from datetime import datetime

from confluent_kafka import KafkaException
from django.core.management.base import BaseCommand, CommandError

from saga_runtime.conf import get_config
from saga_runtime.dead_letters import UnknownTopic, contract_topic
from saga_runtime.management.arguments import whole_number
from saga_runtime.rewind import RewindRefused, rewind_group
from saga_runtime.worker import load_handlers


def _time_with_offset(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO-8601 time: {value!r}") from None
    if parsed.utcoffset() is None:
        raise argparse.ArgumentTypeError(f"give the time with its offset, e.g. {value}Z")
    return parsed


class Command(BaseCommand):
    help = (
        "Move this service's consumer group back to a point in time or an offset. Its workers, "
        "stopped first, consume the records from there again when they start, and apply only "
        "what the database lacks: a record already applied is a duplicate. Example, after "
        "restoring the database from a backup taken at 09:00 UTC: "
        "python manage.py rewind_offsets --time 2026-11-27T08:55:00Z"
    )

    def add_arguments(self, parser):
        target = parser.add_mutually_exclusive_group(required=True)
        target.add_argument(
            "--time",
            type=_time_with_offset,
            help="ISO-8601 time with its offset (e.g. 2026-11-27T08:55:00Z): each partition "
            "starts again at its first record written at or after it; one the group has not "
            "reached yet is left where it is.",
        )
        target.add_argument(
            "--offset",
            type=whole_number(0),
            help="Start one partition (--topic and --partition) again at this offset, which "
            "must be behind the group's.",
        )
        parser.add_argument(
            "--topic",
            action="append",
            help="A topic this service consumes, by its contract name (e.g. "
            "order-placed-topic); repeat for several. Default: all of them; exactly one with "
            "--offset.",
        )
        parser.add_argument(
            "--partition",
            type=whole_number(0),
            help="The partition to move (needed with --offset).",
        )
        parser.add_argument(
            "--group",
            help="Consumer group id (default: SAGA_CONSUMER_GROUP, <service>-service).",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Show where each partition would start again; change nothing.",
        )

    def handle(
        self,
        *args,
        time: datetime | None,
        offset: int | None,
        topic: list[str] | None,
        partition: int | None,
        group: str | None,
        dry_run: bool,
        **options,
    ):
        config = get_config()
        consumed = [
            config.topic(event_class) for event_class in load_handlers(config.handlers_path)
        ]
        topics = (
            consumed
            if topic is None
            else [self._consumed(config, name, consumed) for name in topic]
        )
        if offset is not None and (len(topics) != 1 or partition is None):
            raise CommandError("--offset moves one partition: give one --topic and --partition.")
        group = group or config.consumer_group
        try:
            rewinds = rewind_group(
                config,
                topics,
                group=group,
                to_time=time,
                to_offset=offset,
                partition=partition,
                dry_run=dry_run,
            )
        except RewindRefused as error:
            raise CommandError(str(error)) from error
        except KafkaException as error:
            raise CommandError(f"Rewind failed: {error}") from error
        for rewind in rewinds:
            where = f"{rewind.topic} partition {rewind.partition}"
            if rewind.moved:
                self.stdout.write(f"{where}: {rewind.committed} -> {rewind.offset}")
            elif rewind.committed is None:
                self.stdout.write(f"{where}: nothing committed, starts at its first record")
            else:
                self.stdout.write(f"{where}: stays at {rewind.offset}")
        moved = sum(rewind.moved for rewind in rewinds)
        if dry_run:
            self.stdout.write(
                f"{moved} partitions of {group} would move (dry run: nothing changed)."
            )
        else:
            self.stdout.write(
                f"{moved} partitions of {group} moved; start its workers to consume from there."
            )

    @staticmethod
    def _consumed(config, name: str, consumed: list[str]) -> str:
        try:
            topic = contract_topic(config, name)
        except UnknownTopic as error:
            raise CommandError(str(error)) from error
        if topic not in consumed:
            raise CommandError(f"This service does not consume {name}.")
        return topic
