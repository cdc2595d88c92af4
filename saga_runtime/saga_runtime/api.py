"""One error shape for every service's API: ``{"status", "error", "detail", "fields"}``.

``fields`` maps each invalid field to its messages; it is present only for validation errors.
Nothing a client sends may answer 500 or show an exception's name.
"""

from http import HTTPStatus

from django.http import HttpRequest, JsonResponse
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


def error_body(code: int, detail: str, fields: dict | None = None) -> dict:
    body = {"status": code, "error": HTTPStatus(code).phrase, "detail": detail}
    if fields:
        body["fields"] = fields
    return body


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


def not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return JsonResponse(error_body(404, "Not found."), status=404)


def server_error(request: HttpRequest) -> JsonResponse:
    return JsonResponse(error_body(500, "Internal server error."), status=500)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return JsonResponse(error_body(400, "Bad request."), status=400)


class OrderIdFilterMixin:
    """Lets a list view be filtered with ``?orderId=<integer>`` (400 for anything else)."""

    def get_queryset(self):
        queryset = super().get_queryset()
        raw = self.request.query_params.get("orderId")
        if raw is None:
            return queryset
        try:
            order_id = int(raw)
        except ValueError:
            order_id = None
        if order_id is None or not 1 <= order_id < 2**63:
            raise exceptions.ValidationError({"orderId": ["Must be a positive integer."]})
        return queryset.filter(order_id=order_id)
