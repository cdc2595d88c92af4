from decimal import Decimal

from django.db import models
from django.db.models import Q

CENT = Decimal("0.01")
#: The largest amount the money column holds (DecimalField(max_digits=12, decimal_places=2)).
MAX_AMOUNT = Decimal("9999999999.99")


class PaymentStatus(models.TextChoices):
    SUCCEEDED = "SUCCEEDED"
    DECLINED = "DECLINED"
    REFUNDED = "REFUNDED"
    CANCELLED = "CANCELLED"


class Payment(models.Model):
    """The one charge of an order (unique per order), and its refund if the order failed after
    it. CANCELLED (amount 0) records an order that failed before its OrderConfirmed was
    applied here (its saga deadline passed), so a late OrderConfirmed never charges."""

    order_id = models.BigIntegerField(db_index=True)
    order_number = models.UUIDField(unique=True)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    status = models.CharField(max_length=10, choices=PaymentStatus.choices, db_index=True)
    reason = models.TextField(blank=True, help_text="Why it was declined.")
    refund_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    refunded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gte=CENT) | Q(status="CANCELLED", amount=0), name="amount_min"
            ),
            models.CheckConstraint(
                condition=Q(status__in=PaymentStatus.values), name="payment_status_known"
            ),
            models.CheckConstraint(
                condition=Q(status="REFUNDED", refunded_at__isnull=False)
                | (~Q(status="REFUNDED") & Q(refunded_at__isnull=True)),
                name="refunded_iff_refunded_at",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.amount} for order {self.order_id} ({self.status})"
