from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.reverse import reverse

from saga_runtime.api import IsStaffOrReadOnly, error_responses, list_error_responses

from .models import MAX_STOCK, Stock
from .services import StockLimitExceeded, add_stock


class AddStockSerializer(serializers.Serializer):
    """What staff send to add stock (field names are camelCase on the wire)."""

    sku_code = serializers.CharField(
        max_length=64, label="SKU code", help_text="The product's SKU."
    )
    quantity = serializers.IntegerField(
        min_value=0, max_value=MAX_STOCK, help_text="Units to add to the SKU's stock."
    )


class StockSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(
        view_name="stock-detail", lookup_field="sku_code", read_only=True
    )
    sku_code = serializers.CharField(read_only=True, label="SKU code")
    quantity = serializers.IntegerField(
        source="available", read_only=True, help_text="Available to reserve."
    )

    class Meta:
        model = Stock
        fields = ["url", "sku_code", "quantity", "reserved", "shipped", "total_added", "updated_at"]
        read_only_fields = fields


class StockListCreateApi(generics.ListAPIView):
    """Stock per SKU. Staff POST `{skuCode, quantity}` to add stock (201 for a new SKU, else
    200)."""

    name = "Stock"
    queryset = Stock.objects.all()
    serializer_class = StockSerializer
    permission_classes = [IsStaffOrReadOnly]

    def get_serializer_class(self):
        return AddStockSerializer if self.request.method == "POST" else StockSerializer

    # 400: a NUL in the query, as anywhere (saga_runtime.middleware.RejectNulMiddleware).
    @extend_schema(
        responses={200: StockSerializer(many=True), **list_error_responses(400, 401, 429, 503)}
    )
    def get(self, request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=AddStockSerializer,
        responses={
            200: StockSerializer,
            201: StockSerializer,
            **error_responses(400, 401, 403, 413, 429, 503),
        },
        examples=[
            OpenApiExample(
                "Ten units", value={"skuCode": "SKU-1", "quantity": 10}, request_only=True
            )
        ],
    )
    def post(self, request, *args, **kwargs) -> Response:
        serializer = AddStockSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            stock, created = add_stock(
                sku_code=serializer.validated_data["sku_code"],
                quantity=serializer.validated_data["quantity"],
            )
        except StockLimitExceeded as error:
            raise serializers.ValidationError({"quantity": [str(error)]}) from error
        location = reverse("stock-detail", kwargs={"sku_code": stock.sku_code}, request=request)
        return Response(
            # A plain dict: the browsable API's form stays the one for adding stock.
            dict(StockSerializer(stock, context={"request": request}).data),
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
            headers={"Location": location},
        )


# 400: a NUL in the SKU code, as anywhere in a path (saga_runtime.middleware.RejectNulMiddleware).
@extend_schema(responses={200: StockSerializer, **error_responses(400, 401, 404, 429, 503)})
class StockDetailApi(generics.RetrieveAPIView):
    """One SKU's stock."""

    name = "SKU stock"
    queryset = Stock.objects.all()
    serializer_class = StockSerializer
    lookup_field = "sku_code"
