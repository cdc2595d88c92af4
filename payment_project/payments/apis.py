from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema
from rest_framework import generics, permissions, serializers

from saga_runtime.api import ByOrderFilterSet, error_responses, list_error_responses

from .models import Payment


class PaymentSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="payment-detail", read_only=True)

    class Meta:
        model = Payment
        fields = [
            "id",
            "url",
            "order_id",
            "order_number",
            "amount",
            "status",
            "reason",
            "refund_reason",
            "created_at",
            "refunded_at",
        ]
        read_only_fields = fields


class PaymentFilter(ByOrderFilterSet):
    class Meta:
        model = Payment
        fields = ["status"]


@extend_schema(
    responses={
        200: PaymentSerializer(many=True),
        **list_error_responses(400, 401, 403, 429, 503),
    },
)
class PaymentListApi(generics.ListAPIView):
    """Payments, newest first; `?orderId=` and `?status=` filter them. Staff only."""

    name = "Payments"
    queryset = Payment.objects.all()
    serializer_class = PaymentSerializer
    permission_classes = [permissions.IsAdminUser]
    filter_backends = [DjangoFilterBackend]
    filterset_class = PaymentFilter


@extend_schema(responses={200: PaymentSerializer, **error_responses(401, 403, 404, 429, 503)})
class PaymentDetailApi(generics.RetrieveAPIView):
    """One payment. Staff only."""

    name = "Payment"
    queryset = Payment.objects.all()
    serializer_class = PaymentSerializer
    permission_classes = [permissions.IsAdminUser]
