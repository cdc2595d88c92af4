from django.db import models


class Ledger(models.Model):
    """What the test handler did: one row per applied OrderPlacedEvent (no unique key on
    purpose, so a double application would show as two rows)."""

    order_number = models.UUIDField()
    amount = models.DecimalField(max_digits=12, decimal_places=2)

    def __str__(self) -> str:
        return f"{self.order_number}: {self.amount}"
