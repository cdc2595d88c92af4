from django.db import models
from django.db.models import F, Q

#: The largest stock level the integer columns hold.
MAX_STOCK = 2_147_483_647


class Stock(models.Model):
    """Stock of one SKU, accounted for at every moment.

    ``available + reserved + shipped == total_added`` is a database constraint, as is every
    column being non-negative: no reservation, release or concurrent race can break it.
    """

    sku_code = models.CharField(max_length=64, unique=True)
    available = models.IntegerField(default=0, help_text="On hand and free to reserve.")
    reserved = models.IntegerField(default=0, help_text="Held for orders not yet shipped.")
    shipped = models.IntegerField(default=0, help_text="Left with shipped orders.")
    total_added = models.IntegerField(default=0, help_text="Everything ever added.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["sku_code"]
        verbose_name_plural = "stock"
        constraints = [
            models.CheckConstraint(condition=Q(available__gte=0), name="available_not_negative"),
            models.CheckConstraint(condition=Q(reserved__gte=0), name="reserved_not_negative"),
            models.CheckConstraint(condition=Q(shipped__gte=0), name="shipped_not_negative"),
            models.CheckConstraint(
                condition=Q(total_added=F("available") + F("reserved") + F("shipped")),
                name="stock_accounted_for",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sku_code}: {self.available} available"


class ReservationStatus(models.TextChoices):
    HELD = "HELD"
    RELEASED = "RELEASED"
    SHIPPED = "SHIPPED"
    REJECTED = "REJECTED"
    CANCELLED = "CANCELLED"


class Reservation(models.Model):
    """The stock held for one order: at most one per order, whatever is redelivered.

    HELD until the order ships (SHIPPED, final) or fails (RELEASED, stock back). REJECTED
    records an order that could not be served, so a repeated OrderPlaced never reserves later;
    CANCELLED (quantity 0) an order that failed before its OrderPlaced was applied here (its
    saga deadline passed), so a late OrderPlaced never reserves either.
    """

    order_id = models.BigIntegerField()
    order_number = models.UUIDField(unique=True)
    sku_code = models.CharField(max_length=64)
    quantity = models.IntegerField()
    status = models.CharField(max_length=10, choices=ReservationStatus.choices)
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        # Every saga inserts a reservation, and each index is written on every insert: only
        # the admin's status filter has one. No SKU index, nor the LIKE twins Django makes for
        # a CharField's db_index: the admin's SKU search is a contains, which no B-tree serves.
        indexes = [models.Index(fields=["status"], name="reservation_status_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gte=1) | Q(status="CANCELLED", quantity=0),
                name="reservation_quantity_min",
            ),
            models.CheckConstraint(
                condition=Q(status__in=ReservationStatus.values), name="reservation_status_known"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.sku_code} for order {self.order_id} ({self.status})"
