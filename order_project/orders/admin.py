from django.contrib import admin

from saga_runtime.admin import SagaOwnedAdmin

from .models import Order, OrderHistory


class OrderHistoryInline(admin.TabularInline):
    model = OrderHistory
    fields = ["occurred_at", "from_status", "to_status", "event_type", "event_id", "reason"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Order)
class OrderAdmin(SagaOwnedAdmin):
    """Orders are moved only by the saga: the admin shows them and their history, read-only."""

    list_display = ["id", "order_number", "sku_code", "quantity", "price", "status", "created_at"]
    list_filter = ["status", "created_at"]
    search_fields = ["order_number", "sku_code"]
    date_hierarchy = "created_at"
    inlines = [OrderHistoryInline]
    readonly_fields = [
        "order_number",
        "sku_code",
        "price",
        "quantity",
        "status",
        "failure_reason",
        "created_at",
        "updated_at",
    ]
