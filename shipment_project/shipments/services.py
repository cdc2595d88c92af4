"""Shipping. One transaction with the event it publishes."""

import logging
import uuid

from django.db import transaction

from saga_events import OrderPaidEvent, ShipmentFailedEvent, ShipmentShippedEvent
from saga_runtime import outbox
from saga_runtime.db import insert_once
from saga_runtime.text import storable

from .decisions import rejection_reason
from .models import Shipment, ShipmentStatus

logger = logging.getLogger(__name__)


_SKU_LENGTH = Shipment._meta.get_field("sku_code").max_length


@transaction.atomic
def ship_order(*, order: OrderPaidEvent) -> Shipment | None:
    """Hand a paid order to the carrier once; publish ShipmentShipped or ShipmentFailed.

    An order with a shipment already is left alone, whatever event id the request has.
    """
    reason = rejection_reason(order.quantity)
    shipment = Shipment(
        order_id=order.order_id,
        order_number=order.order_number,
        # The SKU only describes the parcel: kept as far as the column holds it, so a producer
        # without our order API's checks cannot make every attempt fail and the order stay PAID.
        sku_code=storable(order.sku_code or "")[:_SKU_LENGTH],
        quantity=order.quantity,
        status=ShipmentStatus.REJECTED if reason else ShipmentStatus.SHIPPED,
        tracking_number="" if reason else f"TRK-{uuid.uuid4().hex[:12].upper()}",
        reason=reason or "",
    )
    if not insert_once(shipment):
        logger.warning("order already has a shipment; ignored")
        return None
    ids = {"order_id": order.order_id, "order_number": order.order_number}
    if reason:
        outbox.publish(ShipmentFailedEvent.new(**ids, reason=reason))
    else:
        outbox.publish(ShipmentShippedEvent.new(**ids))
    return shipment
