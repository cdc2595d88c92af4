"""Shipping. One transaction with the event it publishes."""

import logging
import uuid

from django.db import transaction

from saga_events import OrderPaidEvent, ShipmentFailedEvent, ShipmentShippedEvent
from saga_runtime import outbox

from .decisions import rejection_reason
from .models import Shipment, ShipmentStatus

logger = logging.getLogger(__name__)


@transaction.atomic
def ship_order(*, order: OrderPaidEvent) -> Shipment | None:
    """Hand a paid order to the carrier once; publish ShipmentShipped or ShipmentFailed.

    An order with a shipment already is left alone, whatever event id the request has.
    """
    if Shipment.objects.filter(order_number=order.order_number).exists():
        logger.warning("order already has a shipment; ignored")
        return None
    reason = rejection_reason(order.quantity)
    shipment = Shipment.objects.create(
        order_id=order.order_id,
        order_number=order.order_number,
        sku_code=order.sku_code or "",
        quantity=order.quantity,
        status=ShipmentStatus.REJECTED if reason else ShipmentStatus.SHIPPED,
        tracking_number="" if reason else f"TRK-{uuid.uuid4().hex[:12].upper()}",
        reason=reason or "",
    )
    ids = {"order_id": order.order_id, "order_number": order.order_number}
    if reason:
        outbox.publish(ShipmentFailedEvent.new(**ids, reason=reason))
    else:
        outbox.publish(ShipmentShippedEvent.new(**ids))
    return shipment
