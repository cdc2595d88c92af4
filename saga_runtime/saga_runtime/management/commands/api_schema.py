import io
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = (
        "Check this service's OpenAPI schema against its snapshot (openapi.yaml beside "
        "manage.py), or --write it, so that an API change is a visible diff. "
        "Example: python manage.py api_schema --check"
    )

    def add_arguments(self, parser):
        mode = parser.add_mutually_exclusive_group(required=True)
        mode.add_argument(
            "--check", action="store_true", help="Exit non-zero if the snapshot is out of date."
        )
        mode.add_argument("--write", action="store_true", help="Regenerate the snapshot.")

    def handle(self, *args, check: bool, write: bool, **options):
        snapshot = Path(settings.BASE_DIR) / "openapi.yaml"
        schema = io.StringIO()
        try:
            # --fail-on-warn: an undocumented field or an ambiguous type is an error here.
            call_command("spectacular", validate=True, fail_on_warn=True, stdout=schema)
        except Exception as error:
            raise CommandError(f"The schema does not generate cleanly: {error}") from error
        if write:
            snapshot.write_text(schema.getvalue())
            self.stdout.write(f"wrote {snapshot}")
        elif not snapshot.exists() or snapshot.read_text() != schema.getvalue():
            raise CommandError(
                f"{snapshot} is out of date with the API; review the change and run "
                "python manage.py api_schema --write"
            )
        else:
            self.stdout.write(f"{snapshot} is up to date")
