from django.http import HttpRequest, JsonResponse

from .api import error_body


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
