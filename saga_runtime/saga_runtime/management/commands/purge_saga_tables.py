from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from saga_runtime.conf import get_config
from saga_runtime.models import OutboxMessage, ProcessedEvent


class Command(BaseCommand):
    help = (
        "Delete processed-event rows and sent outbox rows older than the retention "
        "(SAGA_RETENTION_DAYS). Unsent outbox rows are never deleted. "
        "Example: python manage.py purge_saga_tables --days 7"
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--days", type=int, help="Retention in days (default: SAGA_RETENTION_DAYS)."
        )

    def handle(self, *args, days: int | None, **options):
        days = get_config().retention_days if days is None else days
        if days < 0:
            raise CommandError("--days must be 0 or more.")
        cutoff = timezone.now() - timedelta(days=days)
        processed, _ = ProcessedEvent.objects.filter(processed_at__lt=cutoff).delete()
        sent, _ = OutboxMessage.objects.filter(sent_at__lt=cutoff).delete()
        self.stdout.write(
            f"Deleted {processed} processed events and {sent} sent outbox rows "
            f"older than {days} days."
        )
