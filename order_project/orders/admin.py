from django.contrib import admin
from django.db.models import Q
from django.utils import timezone

from saga_runtime.admin import SagaOwnedAdmin

from .models import Compensation, Order, OrderHistory, OrderStatus


class OverdueFilter(admin.SimpleListFilter):
    """Orders past their deadline: a saga not ended, or a compensation not confirmed."""

    title = "deadline"
    parameter_name = "overdue"

    def lookups(self, request, model_admin):
        return [("yes", "overdue")]

    def queryset(self, request, queryset):
        if self.value() != "yes":
            return queryset
        return queryset.filter(
            Q(status__in=[OrderStatus.PENDING, OrderStatus.CONFIRMED, OrderStatus.PAID])
            | Q(compensation__in=[Compensation.PENDING, Compensation.FAILED]),
            deadline_at__lte=timezone.now(),
        )


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

    list_display = [
        "id",
        "order_number",
        "sku_code",
        "quantity",
        "price",
        "status",
        "compensation",
        "created_at",
    ]
    list_filter = [OverdueFilter, "status", "compensation", "created_at"]
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
        "compensation",
        "deadline_at",
        "expired_at",
        "created_at",
        "updated_at",
    ]
