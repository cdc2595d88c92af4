import logging

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, JsonResponse

from .api import error_body

logger = logging.getLogger(__name__)

#: What a 503 tells a client to wait before trying again.
RETRY_AFTER_SECONDS = 5


class RejectNulMiddleware:
    """Answer 400 for a NUL character in the path or the query string.

    PostgreSQL refuses a NUL even in a comparison, so a filter such as ``?status=%00`` would
    otherwise fail deep inside a view (the admin's changelist among them) with a 500.
    """

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        query = (value for _, values in request.GET.lists() for value in values)
        if "\x00" in request.path or any("\x00" in value for value in query):
            return JsonResponse(error_body(400, "NUL characters are not allowed."), status=400)
        return self.get_response(request)


class RequestTooLargeMiddleware:
    """Answer 413, in the API's error shape, for a body larger than
    ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (2.5 MB), before anything reads it.

    Django refuses such a body only when ``request.body`` is read, as a 400 (a DEBUG page with
    DEBUG on); DRF's parsers read the stream and never check it at all.
    """

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return JsonResponse(error_body(400, "Content-Length is not a number."), status=400)
        if limit is not None and length > limit:
            detail = f"The body is {length} bytes; at most {limit} are accepted."
            return JsonResponse(error_body(413, detail), status=413)
        return self.get_response(request)


class DatabaseUnavailableMiddleware:
    """Answer 503 with ``Retry-After``, in the API's error shape, when the database cannot be
    reached, instead of a 500.

    An outage of a dependency is not a fault of the server's code: a client should retry it
    later, as the readiness probe (also failing then) tells the load balancer.
    """

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception):
        if not isinstance(exception, (OperationalError, InterfaceError)):
            return None
        logger.warning("database unavailable: %s", exception)
        response = JsonResponse(
            error_body(503, "The database is unavailable; retry shortly."), status=503
        )
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
