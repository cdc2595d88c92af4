"""How the carrier decides: deterministic first, so every path can be driven through the API."""

import random

from django.conf import settings


def rejection_reason(quantity: int | None) -> str | None:
    """Why the carrier rejects a parcel of ``quantity`` units, or None to ship it.

    Rejected when the quantity exceeds SHIPMENT_MAX_PARCEL_QUANTITY; otherwise shipped with
    probability SHIPMENT_SUCCESS_RATE (1.0 by default). An OrderPaidEvent from a producer that
    does not send the quantity is judged by the rate alone.
    """
    limit = settings.SHIPMENT_MAX_PARCEL_QUANTITY
    if quantity is not None and quantity > limit:
        return f"{quantity} units exceed the carrier's parcel limit of {limit}"
    if random.random() >= settings.SHIPMENT_SUCCESS_RATE:
        return "rejected by the carrier"
    return None
