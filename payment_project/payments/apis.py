from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, permissions, serializers

from saga_runtime.api import OrderIdFilterMixin, error_responses

from .models import Payment


class PaymentSerializer(serializers.ModelSerializer):
    orderId = serializers.IntegerField(source="order_id")
    orderNumber = serializers.UUIDField(source="order_number")
    refundReason = serializers.CharField(source="refund_reason")
    createdAt = serializers.DateTimeField(source="created_at")
    refundedAt = serializers.DateTimeField(source="refunded_at")

    class Meta:
        model = Payment
        fields = [
            "id",
            "orderId",
            "orderNumber",
            "amount",
            "status",
            "reason",
            "refundReason",
            "createdAt",
            "refundedAt",
        ]


@extend_schema(
    parameters=[OpenApiParameter("orderId", OpenApiTypes.INT, description="Only this order's.")],
    responses={200: PaymentSerializer(many=True), **error_responses(400, 401, 403, 429, 503)},
)
class PaymentListApi(OrderIdFilterMixin, generics.ListAPIView):
    """Payments, newest first; `?orderId=` filters by order. Staff only."""

    queryset = Payment.objects.all()
    serializer_class = PaymentSerializer
    permission_classes = [permissions.IsAdminUser]


@extend_schema(responses={200: PaymentSerializer, **error_responses(401, 403, 404, 429, 503)})
class PaymentDetailApi(generics.RetrieveAPIView):
    """One payment. Staff only."""

    queryset = Payment.objects.all()
    serializer_class = PaymentSerializer
    permission_classes = [permissions.IsAdminUser]
