from django.db import models
from django.db.models import Q

#: The largest quantity the integer column holds.
MAX_QUANTITY = 2_147_483_647


class ShipmentStatus(models.TextChoices):
    SHIPPED = "SHIPPED"
    REJECTED = "REJECTED"


class Shipment(models.Model):
    """The one shipment attempt of a paid order (unique per order)."""

    order_id = models.BigIntegerField(db_index=True)
    order_number = models.UUIDField(unique=True)
    sku_code = models.CharField(max_length=64, blank=True)
    quantity = models.IntegerField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=ShipmentStatus.choices, db_index=True)
    tracking_number = models.CharField(max_length=40, blank=True)
    reason = models.TextField(blank=True, help_text="Why the carrier rejected it.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=ShipmentStatus.values), name="shipment_status_known"
            ),
        ]

    def __str__(self) -> str:
        return f"Shipment of order {self.order_id} ({self.status})"
