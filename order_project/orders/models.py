import uuid
from decimal import Decimal

from django.conf import settings
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


class Compensation(models.TextChoices):
    """Whether the undoing a failed order needs has been confirmed by the services that do it.

    An order that failed after its stock was reserved needs the reservation released
    (InventoryReleased); one that failed after it was charged also needs a refund
    (PaymentRefunded). FAILED means a confirmation did not come before the deadline: the
    compensating service gave up on it (look at its dead-letter topic); DONE follows once it
    comes, for example after the record is replayed.
    """

    NONE = "", "not needed"
    PENDING = "PENDING"
    FAILED = "FAILED"
    DONE = "DONE"


class Order(models.Model):
    order_number = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="orders",
        help_text="Who placed it (none for orders placed before accounts existed).",
    )
    sku_code = models.CharField(max_length=64, db_index=True)
    price = models.DecimalField(max_digits=12, decimal_places=2)
    quantity = models.IntegerField()
    status = models.CharField(
        max_length=20, choices=OrderStatus.choices, default=OrderStatus.PENDING, db_index=True
    )
    failure_reason = models.TextField(blank=True)
    deadline_at = models.DateTimeField(
        help_text="When the saga, or the compensation it waits for, is overdue "
        "(SAGA_DEADLINE_SECONDS after placement, or after the compensation was asked for)."
    )
    expired_at = models.DateTimeField(
        null=True, blank=True, help_text="When the order's saga deadline was enforced."
    )
    compensation = models.CharField(
        max_length=10, choices=Compensation.choices, default=Compensation.NONE, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # What the deadline sweep reads every few seconds: the open orders only.
            models.Index(
                fields=["deadline_at"],
                condition=models.Q(
                    status__in=[OrderStatus.PENDING, OrderStatus.CONFIRMED, OrderStatus.PAID]
                )
                | models.Q(compensation="PENDING"),
                name="order_open_deadline",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(price__gte=Decimal("0.01")), name="price_min"
            ),
            models.CheckConstraint(condition=models.Q(quantity__gte=1), name="quantity_min"),
            models.CheckConstraint(
                condition=models.Q(status__in=OrderStatus.values), name="status_known"
            ),
            models.CheckConstraint(
                condition=models.Q(compensation__in=Compensation.values),
                name="compensation_known",
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


class IdempotencyKey(models.Model):
    """A client's ``Idempotency-Key`` for placing an order, and the order it placed.

    Unique per (owner, key): of two requests with one key, the database lets one insert and
    makes the other wait for it and then fail, so exactly one order is placed.
    """

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of the request's body.")
    order = models.ForeignKey(Order, on_delete=models.CASCADE, null=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["owner", "key"], name="idempotency_key_per_owner")
        ]

    def __str__(self) -> str:
        return f"{self.key} → order {self.order_id}"
