from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema
from rest_framework import generics, permissions, serializers

from saga_runtime.api import ByOrderFilterSet, error_responses, list_error_responses

from .models import Shipment


class ShipmentSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="shipment-detail", read_only=True)

    class Meta:
        model = Shipment
        fields = [
            "id",
            "url",
            "order_id",
            "order_number",
            "sku_code",
            "quantity",
            "status",
            "tracking_number",
            "reason",
            "created_at",
        ]
        read_only_fields = fields


class ShipmentFilter(ByOrderFilterSet):
    class Meta:
        model = Shipment
        fields = ["status"]


@extend_schema(
    responses={
        200: ShipmentSerializer(many=True),
        **list_error_responses(400, 401, 403, 429, 503),
    },
)
class ShipmentListApi(generics.ListAPIView):
    """Shipments, newest first; `?orderId=` and `?status=` filter them. Staff only."""

    name = "Shipments"
    queryset = Shipment.objects.all()
    serializer_class = ShipmentSerializer
    permission_classes = [permissions.IsAdminUser]
    filter_backends = [DjangoFilterBackend]
    filterset_class = ShipmentFilter


@extend_schema(responses={200: ShipmentSerializer, **error_responses(401, 403, 404, 429, 503)})
class ShipmentDetailApi(generics.RetrieveAPIView):
    """One shipment. Staff only."""

    name = "Shipment"
    queryset = Shipment.objects.all()
    serializer_class = ShipmentSerializer
    permission_classes = [permissions.IsAdminUser]
