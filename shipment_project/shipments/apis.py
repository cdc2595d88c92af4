from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, permissions, serializers

from saga_runtime.api import OrderIdFilterMixin, error_responses

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


@extend_schema(
    parameters=[OpenApiParameter("orderId", OpenApiTypes.INT, description="Only this order's.")],
    responses={200: ShipmentSerializer(many=True), **error_responses(400, 401, 403, 429, 503)},
)
class ShipmentListApi(OrderIdFilterMixin, generics.ListAPIView):
    """Shipments, newest first; `?orderId=` filters by order. Staff only."""

    queryset = Shipment.objects.all()
    serializer_class = ShipmentSerializer
    permission_classes = [permissions.IsAdminUser]


@extend_schema(responses={200: ShipmentSerializer, **error_responses(401, 403, 404, 429, 503)})
class ShipmentDetailApi(generics.RetrieveAPIView):
    """One shipment. Staff only."""

    queryset = Shipment.objects.all()
    serializer_class = ShipmentSerializer
    permission_classes = [permissions.IsAdminUser]
