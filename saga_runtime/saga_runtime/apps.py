from django.apps import AppConfig
from django.conf import settings

from .tracing import configure_tracing


class SagaRuntimeConfig(AppConfig):
    name = "saga_runtime"
    verbose_name = "Saga runtime (outbox, processed events, dead letters)"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import authentication  # noqa: F401  (its signal receivers)

        # Every process that loads Django passes here once, before its first request, query
        # or record: a gunicorn worker (after the fork) as much as manage.py consume_saga.
        if settings.TRACING_ENABLED:
            configure_tracing()
