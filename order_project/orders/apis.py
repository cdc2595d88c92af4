import re
from datetime import UTC, datetime
from decimal import Decimal

import django_filters
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import APIException, NotFound
from rest_framework.response import Response
from rest_framework.reverse import reverse

from saga_runtime.api import (
    FlatSerializer,
    UtcDateTimeFilter,
    error_responses,
    list_error_responses,
)

from .models import (
    MAX_AMOUNT,
    MAX_QUANTITY,
    Compensation,
    Order,
    OrderStatus,
)
from .selectors import order_with_history, visible_orders
from .services import IdempotencyKeyReused, place_order, place_order_once
from .waiting import wait_for_end

#: The longest a client may ask ``GET /api/orders/{id}?wait=`` to wait.
MAX_WAIT_SECONDS = 30
#: What an Idempotency-Key may be: 1 to 255 printable ASCII characters (a UUID is typical).
IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,255}")

IDEMPOTENCY_KEY_PARAMETER = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="Makes the request safe to retry: the same key (1–255 printable ASCII "
    "characters, e.g. a UUID) from the same user within 24 h answers with the order the first "
    "request placed (201, header `Idempotent-Replayed: true`) and places nothing; with a "
    "different body it answers 422.",
)


class IdempotencyKeyConflict(APIException):
    status_code = 422
    default_detail = "This Idempotency-Key was used for a different order."


class PlaceOrderSerializer(FlatSerializer):
    """What a client sends to place an order (field names are camelCase on the wire)."""

    sku_code = serializers.CharField(
        max_length=64, label="SKU code", help_text="The product's SKU."
    )
    price = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0.01"),
        label="Unit price",
        help_text="Unit price, e.g. 49.99.",
    )
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_QUANTITY)

    def validate(self, data: dict) -> dict:
        if data["price"] * data["quantity"] > MAX_AMOUNT:
            raise serializers.ValidationError(
                {"quantity": [f"price × quantity must not exceed {MAX_AMOUNT}."]}
            )
        return data


# Plain serializers, not ModelSerializers: a ModelSerializer rebuilds its fields from the model
# on every instantiation, which was a third of the order service's CPU per request
# (docs/decisions/0009). Read-only: they describe answers, never forms.
class OrderHistorySerializer(serializers.Serializer):
    from_status = serializers.CharField(read_only=True)
    to_status = serializers.ChoiceField(choices=OrderStatus.choices, read_only=True)
    event_type = serializers.CharField(read_only=True, help_text="The event that caused it.")
    event_id = serializers.UUIDField(allow_null=True, read_only=True)
    reason = serializers.CharField(read_only=True)
    occurred_at = serializers.DateTimeField(read_only=True)


class OrderSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    url = serializers.HyperlinkedIdentityField(view_name="order-detail", read_only=True)
    order_number = serializers.UUIDField(read_only=True)
    sku_code = serializers.CharField(read_only=True, label="SKU code")
    price = serializers.DecimalField(max_digits=12, decimal_places=2, read_only=True)
    quantity = serializers.IntegerField(read_only=True)
    status = serializers.ChoiceField(choices=OrderStatus.choices, read_only=True)
    failure_reason = serializers.CharField(read_only=True)
    compensation = serializers.ChoiceField(
        choices=Compensation.choices,
        read_only=True,
        help_text="For an order that failed after stock was reserved: whether the release (and "
        "the refund) it needs are PENDING, DONE, or FAILED (not confirmed by the deadline).",
    )
    deadline_at = serializers.DateTimeField(
        read_only=True, help_text="When the saga, or the compensation it waits for, is overdue."
    )
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)


# For an order as selectors.order_with_history reads it.
class OrderDetailSerializer(OrderSerializer):
    history = OrderHistorySerializer(many=True, read_only=True, source="history_lines")


CENTS = Decimal("0.01")


def order_answer(order: Order, *, url: str) -> dict:
    """``OrderDetailSerializer(order).data``, for an order as ``selectors.order_with_history``
    reads it and ``url`` its address, written out directly.

    Every saga's client reads this answer once, and building a serializer deep-copies its fields
    (and its history's) first: that was a third of the CPU of placing an order in-process
    (docs/decisions/0021). The serializers stay what the schema and the browsable API describe;
    a test holds this to their output for orders in every status.
    """
    return {
        "id": order.pk,
        "url": url,
        "order_number": str(order.order_number),
        "sku_code": order.sku_code,
        "price": f"{order.price.quantize(CENTS):f}",
        "quantity": order.quantity,
        "status": order.status,
        "failure_reason": order.failure_reason,
        "compensation": order.compensation,
        "deadline_at": _timestamp(order.deadline_at),
        "created_at": _timestamp(order.created_at),
        "updated_at": _timestamp(order.updated_at),
        "history": [
            {
                "from_status": line.from_status,
                "to_status": line.to_status,
                "event_type": line.event_type,
                "event_id": None if line.event_id is None else str(line.event_id),
                "reason": line.reason,
                "occurred_at": _timestamp(line.occurred_at),
            }
            for line in order.history_lines
        ],
    }


def _timestamp(value: datetime | None) -> str | None:
    """As DRF's DateTimeField writes one (USE_TZ, TIME_ZONE UTC): ISO 8601 ending in Z."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().removesuffix("+00:00") + "Z"


class WaitSerializer(FlatSerializer):
    wait = serializers.FloatField(
        required=False,
        min_value=0,
        max_value=MAX_WAIT_SECONDS,
        help_text="Seconds to wait for the order to reach a terminal status before answering.",
    )


class OrderFilter(django_filters.FilterSet):
    """``?status=``, ``?skuCode=``, ``?createdAfter=``, ``?createdBefore=`` (ISO 8601); a
    value that does not fit answers 400."""

    skuCode = django_filters.CharFilter(field_name="sku_code", label="SKU code")
    createdAfter = UtcDateTimeFilter(
        field_name="created_at", lookup_expr="gte", label="Placed at or after"
    )
    createdBefore = UtcDateTimeFilter(
        field_name="created_at", lookup_expr="lt", label="Placed before"
    )

    class Meta:
        model = Order
        fields = ["status"]


def order_url(request, order_id: int) -> str:
    """The order's address, as ``OrderSerializer.url`` gives it."""
    return reverse("order-detail", kwargs={"pk": order_id}, request=request)


class OrderListCreateApi(generics.ListAPIView):
    """Your orders, newest first (staff see everyone's). POST `{skuCode, price, quantity}` to
    place one; with `?wait=N` (at most 30) the answer comes once it has ended, or after N
    seconds with the order as it is then."""

    name = "Orders"
    queryset = Order.objects.all()
    serializer_class = OrderSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = OrderFilter

    def get_queryset(self):
        return visible_orders(self.request.user, super().get_queryset())

    def get_serializer_class(self):
        # The browsable API's form shows the fields a client sends, not those it gets back.
        return PlaceOrderSerializer if self.request.method == "POST" else OrderSerializer

    @extend_schema(
        summary="Place an order",
        description="Stores the order PENDING and starts its saga; follow it at `Location` "
        "(whose `?wait=N` answers once it has ended), or let this request wait: with "
        "`?wait=N` the answer comes once the order has ended, or after N seconds with the "
        "order as it is then.",
        request=PlaceOrderSerializer,
        parameters=[IDEMPOTENCY_KEY_PARAMETER, WaitSerializer],
        responses={201: OrderDetailSerializer, **error_responses(400, 401, 413, 422, 429, 503)},
        examples=[
            OpenApiExample(
                "Two of a SKU",
                value={"skuCode": "SKU-1", "price": "49.99", "quantity": 2},
                request_only=True,
            )
        ],
    )
    def post(self, request, *args, **kwargs) -> Response:
        params = WaitSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        serializer = PlaceOrderSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        fields = {
            "sku_code": data["sku_code"],
            "price": data["price"],
            "quantity": data["quantity"],
        }
        headers = {}
        if (key := request.headers.get("Idempotency-Key")) is None:
            order = place_order(owner=request.user, **fields)
        else:
            if not IDEMPOTENCY_KEY.fullmatch(key):
                raise serializers.ValidationError(
                    {"Idempotency-Key": ["Must be 1 to 255 printable ASCII characters."]}
                )
            try:
                order, placed = place_order_once(owner=request.user, key=key, **fields)
            except IdempotencyKeyReused as error:
                raise IdempotencyKeyConflict(str(error)) from error
            if not placed:
                headers["Idempotent-Replayed"] = "true"
        url = headers["Location"] = order_url(request, order.pk)
        if wait := params.validated_data.get("wait"):
            wait_for_end(order_id=order.pk, user=request.user, timeout=wait)
        order = order_with_history(order_id=order.pk, user=request.user)
        # A plain dict: the browsable API then builds its form from PlaceOrderSerializer (what
        # a client sends) rather than from the answer's serializer.
        answer = order_answer(order, url=url)
        return Response(answer, status=status.HTTP_201_CREATED, headers=headers)

    @extend_schema(
        summary="List your orders",
        description="Newest first, 20 to a page; staff see everyone's.",
        responses={200: OrderSerializer(many=True), **list_error_responses(400, 401, 429, 503)},
    )
    def get(self, request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)


class OrderDetailApi(generics.RetrieveAPIView):
    """One order with its status history.

    `?wait=N` (at most 30): if the order has not ended yet, answer once it has, or after N
    seconds with the order as it is then, instead of the client polling.
    """

    name = "Order"
    queryset = Order.objects.all()  # for the schema: get_object reads the order
    serializer_class = OrderDetailSerializer

    @extend_schema(
        summary="An order with its history",
        description="Yours (staff: anyone's); others answer 404. `?wait=N` (at most 30) "
        "answers once the order has ended, or after N seconds as it is then.",
        parameters=[WaitSerializer],
        responses={200: OrderDetailSerializer, **error_responses(400, 401, 404, 429, 503)},
    )
    def get(self, request, *args, **kwargs) -> Response:
        order = self.get_object()
        return Response(order_answer(order, url=order_url(request, order.pk)))

    def get_object(self) -> Order:
        params = WaitSerializer(data=self.request.query_params)
        params.is_valid(raise_exception=True)
        order_id, user = self.kwargs["pk"], self.request.user
        if wait := params.validated_data.get("wait"):
            wait_for_end(order_id=order_id, user=user, timeout=wait)
        order = order_with_history(order_id=order_id, user=user)
        if order is None:
            raise NotFound("No Order matches the given query.")
        self.check_object_permissions(self.request, order)
        return order
