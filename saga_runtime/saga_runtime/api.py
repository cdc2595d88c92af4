"""One error shape for every service's API: ``{"status", "error", "detail", "fields"}``.

``fields`` maps each invalid field to its messages; it is present only for validation errors.
Nothing a client sends may answer 500 or show an exception's name.
"""

from copy import copy
from datetime import UTC
from http import HTTPStatus

import django_filters
from django import forms
from django.http import HttpRequest, JsonResponse
from django_filters.fields import IsoDateTimeField
from drf_spectacular.contrib.django_filters import DjangoFilterExtension
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, permissions, serializers
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler


def error_body(code: int, detail: str, fields: dict | None = None) -> dict:
    body = {"status": code, "error": HTTPStatus(code).phrase, "detail": detail}
    if fields:
        body["fields"] = fields
    return body


class FlatSerializer(serializers.Serializer):
    """A serializer of plain fields whose instances copy them shallowly.

    DRF deep-copies a serializer's declared fields for every instance it makes, which builds
    each field again from its arguments: that was most of the cost of validating a request's
    body and query in the hot path. A plain field holds no state a request changes (binding
    sets attributes on the copy), so a shallow copy is enough. Refused here: a nested
    serializer or a field holding another, which keep state of their own, and a mutable
    default (``default={}``), which every request would then share.
    """

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        nested = [
            name
            for name, field in cls._declared_fields.items()
            # A serializer, or a field holding another (ListField, DictField, a many relation).
            if isinstance(field, serializers.BaseSerializer)
            or hasattr(field, "child")
            or hasattr(field, "child_relation")
            or isinstance(getattr(field, "default", None), dict | list | set)
        ]
        if nested:
            raise TypeError(f"{cls.__name__}: {', '.join(nested)} are not plain fields")

    def get_fields(self) -> dict[str, serializers.Field]:
        return {name: copy(field) for name, field in self._declared_fields.items()}


class ErrorSerializer(serializers.Serializer):
    """The body of every 4xx and 5xx answer."""

    status = serializers.IntegerField(help_text="The HTTP status code.")
    error = serializers.CharField(help_text="The status code's reason phrase.")
    detail = serializers.CharField(help_text="What went wrong, for a person.")
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Validation errors only: each invalid field (or header) and its messages.",
    )

    class Meta:
        ref_name = "Error"


def error_responses(*codes: int) -> dict[int, OpenApiResponse]:
    """The OpenAPI description of the error answers ``codes``, all in the one error shape."""
    reasons = {
        400: "Invalid input: `fields` says what, per field.",
        401: "No credentials, or wrong ones: send `Authorization: Token <key>` or log in.",
        403: "Authenticated, but not allowed (staff only).",
        404: "No such resource (or not yours).",
        413: "The body is larger than the service accepts.",
        422: "The Idempotency-Key was used before for a different request.",
        429: "Too many requests: slow down (see `Retry-After`).",
        503: "A dependency (the database) is down: try again after `Retry-After` seconds.",
    }
    return {code: OpenApiResponse(ErrorSerializer, description=reasons[code]) for code in codes}


def list_error_responses(*codes: int) -> dict[int, OpenApiResponse]:
    """The error answers of a paginated list: ``codes``, and 404 for a ``page`` that is not
    one of its pages (DRF's pagination answers so)."""
    no_page = "No such page: `page` is past the last page, or not a page number."
    no_page_response = OpenApiResponse(ErrorSerializer, description=no_page)
    responses = error_responses(*codes) | {404: no_page_response}
    return dict(sorted(responses.items()))


class FilterParameters(DjangoFilterExtension):
    """django-filter's query parameters, described as they behave: an empty value (what the
    browsable API's filter form sends for a field left blank) filters nothing.

    drf-spectacular uses it by being defined: every service's apis.py imports this module."""

    priority = 1  # over drf-spectacular's own, which this extends

    def get_schema_operation_parameters(self, auto_schema, *args, **kwargs) -> list[dict]:
        return [
            parameter | {"allowEmptyValue": True}
            for parameter in super().get_schema_operation_parameters(auto_schema, *args, **kwargs)
        ]


class IsStaffOrReadOnly(permissions.BasePermission):
    """Any authenticated user reads; only staff write."""

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        return request.method in permissions.SAFE_METHODS or user.is_staff


def exception_handler(exc: Exception, context: dict) -> Response | None:
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # not an API error: Django's 500 handler (below) answers, without details
    if isinstance(exc, exceptions.ValidationError):
        fields = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        response.data = error_body(response.status_code, "Invalid input.", fields)
    else:
        response.data = error_body(response.status_code, str(getattr(exc, "detail", exc)))
    return response


def not_found(
    request: HttpRequest, exception: Exception | None = None, path: str = ""
) -> JsonResponse:
    return JsonResponse(error_body(404, "Not found."), status=404)


def server_error(request: HttpRequest) -> JsonResponse:
    return JsonResponse(error_body(500, "Internal server error."), status=500)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return JsonResponse(error_body(400, "Bad request."), status=400)


class IntegerFilter(django_filters.NumberFilter):
    field_class = forms.IntegerField


class UtcDateTimeField(IsoDateTimeField):
    """An ISO 8601 date and time, turned to UTC. PostgreSQL refuses a UTC offset past ±15:59
    (a 500 once, for ``?createdAfter=2026-01-01T00:00:00+17:00``), which ISO 8601 and Python
    allow up to ±23:59; in UTC the same instant is always accepted."""

    def to_python(self, value):
        value = super().to_python(value)
        if value is None:
            return None
        try:
            return value.astimezone(UTC)
        except OverflowError:  # 0001-01-01T00:00+01:00 is before the year 1 in UTC
            raise forms.ValidationError(
                "Enter a date and time from the year 1 to 9999 in UTC.", code="invalid"
            ) from None


class UtcDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcDateTimeField


class ByOrderFilterSet(django_filters.FilterSet):
    """Filters of a list of records kept per order: ``?orderId=`` (a value that is not an
    order id answers 400, as does any other filter's; an empty one filters nothing)."""

    orderId = IntegerFilter(
        field_name="order_id",
        min_value=1,
        max_value=2**63 - 1,
        label="Order id",
        help_text="Only this order's.",
    )


class ApiRoot(APIView):
    """The service's endpoints. Its API documentation: `docs` (Swagger UI), `redoc`, and the
    OpenAPI `schema` itself."""

    permission_classes = [permissions.AllowAny]
    #: {name: URL name} of the endpoints to list, set by each service's urls.py.
    endpoints: dict[str, str] = {}
    name = "API"

    @extend_schema(exclude=True)
    def get(self, request, format=None) -> Response:
        names = self.endpoints | {"docs": "swagger-ui", "redoc": "redoc", "schema": "schema"}
        return Response(
            {
                name: reverse(url_name, request=request, format=format)
                for name, url_name in names.items()
            }
        )
