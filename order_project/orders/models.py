import uuid
from decimal import Decimal

from django.db import models

#: The largest amount the money columns hold (DecimalField(max_digits=12, decimal_places=2)).
MAX_AMOUNT = Decimal("9999999999.99")
#: The largest quantity an integer column holds.
MAX_QUANTITY = 2_147_483_647


class OrderStatus(models.TextChoices):
    PENDING = "PENDING"
    CONFIRMED = "CONFIRMED"
    PAID = "PAID"
    SHIPPED = "SHIPPED"
    FAILED = "FAILED"
    PAYMENT_FAILED = "PAYMENT_FAILED"
    SHIPMENT_FAILED = "SHIPMENT_FAILED"


TERMINAL_STATUSES = frozenset(
    {
        OrderStatus.SHIPPED,
        OrderStatus.FAILED,
        OrderStatus.PAYMENT_FAILED,
        OrderStatus.SHIPMENT_FAILED,
    }
)


class Order(models.Model):
    order_number = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    sku_code = models.CharField(max_length=64, db_index=True)
    price = models.DecimalField(max_digits=12, decimal_places=2)
    quantity = models.IntegerField()
    status = models.CharField(
        max_length=20, choices=OrderStatus.choices, default=OrderStatus.PENDING, db_index=True
    )
    failure_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(price__gte=Decimal("0.01")), name="price_min"
            ),
            models.CheckConstraint(condition=models.Q(quantity__gte=1), name="quantity_min"),
            models.CheckConstraint(
                condition=models.Q(status__in=OrderStatus.values), name="status_known"
            ),
        ]

    def __str__(self) -> str:
        return f"Order {self.id} ({self.status})"

    @property
    def amount(self) -> Decimal:
        return self.price * self.quantity


class OrderHistory(models.Model):
    """One line of an order's timeline: a transition, or an event noted without one (a refund)."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="history")
    from_status = models.CharField(max_length=20, choices=OrderStatus.choices, blank=True)
    to_status = models.CharField(max_length=20, choices=OrderStatus.choices)
    event_type = models.CharField(max_length=100, help_text="The event that caused this line.")
    event_id = models.UUIDField(null=True, blank=True)
    reason = models.TextField(blank=True)
    occurred_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["occurred_at", "id"]
        verbose_name_plural = "order history"

    def __str__(self) -> str:
        return f"{self.from_status or '∅'} → {self.to_status} ({self.event_type})"
