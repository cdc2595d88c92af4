"""How a charge is decided: deterministic first, so every path can be driven through the API."""

import random
from decimal import Decimal

from django.conf import settings


def decline_reason(amount: Decimal) -> str | None:
    """Why a charge of ``amount`` is declined, or None to accept it.

    Declined when the amount exceeds PAYMENT_DECLINE_ABOVE; otherwise accepted with probability
    PAYMENT_SUCCESS_RATE (1.0 by default, so only the limit declines).
    """
    if amount > settings.PAYMENT_DECLINE_ABOVE:
        return f"amount {amount} exceeds the limit of {settings.PAYMENT_DECLINE_ABOVE}"
    if random.random() >= settings.PAYMENT_SUCCESS_RATE:
        return "declined by the payment provider"
    return None
