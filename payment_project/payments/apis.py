from rest_framework import generics, serializers

from saga_runtime.api import OrderIdFilterMixin

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


class PaymentListApi(OrderIdFilterMixin, generics.ListAPIView):
    """Payments, newest first; `?orderId=` filters by order."""

    queryset = Payment.objects.all()
    serializer_class = PaymentSerializer


class PaymentDetailApi(generics.RetrieveAPIView):
    queryset = Payment.objects.all()
    serializer_class = PaymentSerializer
