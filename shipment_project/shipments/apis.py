from rest_framework import generics, serializers

from saga_runtime.api import OrderIdFilterMixin

from .models import Shipment


class ShipmentSerializer(serializers.ModelSerializer):
    orderId = serializers.IntegerField(source="order_id")
    orderNumber = serializers.UUIDField(source="order_number")
    skuCode = serializers.CharField(source="sku_code")
    trackingNumber = serializers.CharField(source="tracking_number")
    createdAt = serializers.DateTimeField(source="created_at")

    class Meta:
        model = Shipment
        fields = [
            "id",
            "orderId",
            "orderNumber",
            "skuCode",
            "quantity",
            "status",
            "trackingNumber",
            "reason",
            "createdAt",
        ]


class ShipmentListApi(OrderIdFilterMixin, generics.ListAPIView):
    """Shipments, newest first; `?orderId=` filters by order."""

    queryset = Shipment.objects.all()
    serializer_class = ShipmentSerializer


class ShipmentDetailApi(generics.RetrieveAPIView):
    queryset = Shipment.objects.all()
    serializer_class = ShipmentSerializer
