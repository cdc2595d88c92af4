from django.contrib import admin

from .models import OutboxMessage, ProcessedEvent


class SagaOwnedAdmin(admin.ModelAdmin):
    """For state only the saga may change: listed and shown, never added, edited or deleted.

    A hand edit here would move one service's state without the events the others wait for.
    """

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(OutboxMessage)
class OutboxMessageAdmin(SagaOwnedAdmin):
    list_display = ["id", "event_type", "key", "topic", "created_at", "sent_at"]
    list_filter = [("sent_at", admin.EmptyFieldListFilter), "event_type", "topic"]
    search_fields = ["key", "event_id"]


@admin.register(ProcessedEvent)
class ProcessedEventAdmin(SagaOwnedAdmin):
    list_display = ["consumer", "event_id", "topic", "processed_at"]
    list_filter = ["consumer", "topic"]
    search_fields = ["event_id"]
