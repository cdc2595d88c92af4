from django import forms
from django.contrib import admin

from saga_runtime.admin import SagaOwnedAdmin

from .models import MAX_STOCK, Reservation, Stock
from .services import StockLimitExceeded, add_stock


class AddStockForm(forms.ModelForm):
    add_quantity = forms.IntegerField(
        min_value=0, max_value=MAX_STOCK, initial=0, help_text="Units to add to the stock."
    )

    class Meta:
        model = Stock
        fields = ["sku_code"]

    def clean(self):
        cleaned = super().clean()
        # Checked here so the admin shows the problem on the form instead of failing on save.
        sku = cleaned.get("sku_code") or (self.instance.sku_code if self.instance.pk else None)
        quantity = cleaned.get("add_quantity") or 0
        if sku and Stock.objects.filter(sku_code=sku, total_added__gt=MAX_STOCK - quantity):
            raise forms.ValidationError({"add_quantity": f"Stock would exceed {MAX_STOCK}."})
        return cleaned


@admin.register(Stock)
class StockAdmin(admin.ModelAdmin):
    """Stock is only ever added to here (through add_stock, as the API does); the counts that
    reservations move are read-only."""

    form = AddStockForm
    list_display = ["sku_code", "available", "reserved", "shipped", "total_added", "updated_at"]
    search_fields = ["sku_code"]
    readonly_fields = ["available", "reserved", "shipped", "total_added", "updated_at"]

    def get_readonly_fields(self, request, obj=None):
        return [*self.readonly_fields, "sku_code"] if obj else self.readonly_fields

    def save_model(self, request, obj, form, change) -> None:
        try:
            stock, _ = add_stock(sku_code=obj.sku_code, quantity=form.cleaned_data["add_quantity"])
        except StockLimitExceeded as error:  # a concurrent addition got there first
            self.message_user(request, str(error), level="error")
            return
        obj.pk = stock.pk
        obj.refresh_from_db()

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Reservation)
class ReservationAdmin(SagaOwnedAdmin):
    """Reservations belong to the saga: shown, never edited."""

    list_display = ["order_id", "order_number", "sku_code", "quantity", "status", "created_at"]
    list_filter = ["status", "created_at"]
    search_fields = ["order_number", "sku_code"]
    readonly_fields = [f.name for f in Reservation._meta.fields]
