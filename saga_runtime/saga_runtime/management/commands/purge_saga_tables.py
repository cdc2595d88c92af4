from django.core.management.base import BaseCommand, CommandError

from saga_runtime.conf import get_config
from saga_runtime.retention import purge_saga_tables


class Command(BaseCommand):
    help = (
        "Delete processed-event rows and sent outbox rows older than the retention "
        "(SAGA_RETENTION_DAYS), as every worker does once an hour. Unsent outbox rows are "
        "never deleted. "
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
        processed, sent = purge_saga_tables(days=days)
        self.stdout.write(
            f"Deleted {processed} processed events and {sent} sent outbox rows "
            f"older than {days} days."
        )
