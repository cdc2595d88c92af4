from django.contrib import admin

from saga_runtime.admin import SagaOwnedAdmin

from .models import Shipment


@admin.register(Shipment)
class ShipmentAdmin(SagaOwnedAdmin):
    list_display = ["id", "order_id", "order_number", "quantity", "status", "created_at"]
    list_filter = ["status", "created_at"]
    search_fields = ["order_number", "tracking_number", "sku_code"]
