from django.contrib import admin

from saga_runtime.admin import SagaOwnedAdmin

from .models import Payment


@admin.register(Payment)
class PaymentAdmin(SagaOwnedAdmin):
    """Payments and refunds happen only through the saga: shown, never edited."""

    list_display = ["id", "order_id", "order_number", "amount", "status", "created_at"]
    list_filter = ["status", "created_at"]
    search_fields = ["order_number"]
    readonly_fields = [f.name for f in Payment._meta.fields]
