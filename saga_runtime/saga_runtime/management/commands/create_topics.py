from confluent_kafka import KafkaException
from django.core.management.base import BaseCommand, CommandError

from saga_runtime.conf import get_config
from saga_runtime.topics import TopicMismatch, create_topics


class Command(BaseCommand):
    help = (
        "Create the saga's topics and their .DLT twins, with the configured partitions "
        "(SAGA_TOPIC_PARTITIONS); fails if one exists with another count. Idempotent. "
        "Example: python manage.py create_topics"
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--timeout", type=float, default=30, help="Seconds to wait for the broker (30)."
        )

    def handle(self, *args, timeout: float, **options):
        config = get_config()
        try:
            results = create_topics(config, timeout=timeout)
        except KafkaException as error:
            raise CommandError(
                f"Could not create topics on {config.bootstrap_servers}: {error}"
            ) from error
        except TopicMismatch as error:
            raise CommandError(str(error)) from error
        for topic, result in sorted(results.items()):
            self.stdout.write(f"{result:8} {topic}")
