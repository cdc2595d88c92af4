from django.apps import AppConfig


class SagaRuntimeConfig(AppConfig):
    name = "saga_runtime"
    verbose_name = "Saga runtime (outbox, processed events)"
    default_auto_field = "django.db.models.BigAutoField"
