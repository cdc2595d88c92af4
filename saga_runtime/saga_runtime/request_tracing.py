"""OpenTelemetry's Django middleware, run only for the requests it records.

Imported only when tracing is on: saga_runtime.tracing.configure_tracing puts this middleware
where DjangoInstrumentor put OpenTelemetry's, after configuring it.
"""

from django.http import HttpRequest
from opentelemetry import context
from opentelemetry.instrumentation.django.middleware.otel_middleware import _DjangoMiddleware
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.instrumentation.wsgi import wsgi_getter

from . import tracing


class RequestTracingMiddleware(_DjangoMiddleware):
    """A request recorded goes through OpenTelemetry's middleware unchanged. One not sampled
    runs in its unsampled context, and a probe or scrape (``UNTRACED_URLS``) in no trace at
    all, both with the instrumented libraries' work suppressed: their spans would record
    nothing either."""

    def __call__(self, request: HttpRequest):
        # The path, not the absolute URL OpenTelemetry checks (built three times a request):
        # UNTRACED_URLS are paths anchored at their end, which match the one as the other.
        if self._excluded_urls.url_disabled(request.path):
            unrecorded = context.Context()
        else:
            unrecorded = tracing.request_context(request.META, wsgi_getter)
            if unrecorded is None:
                return super().__call__(request)
        token = context.attach(unrecorded)
        try:
            with suppress_instrumentation():
                return self.get_response(request)
        finally:
            context.detach(token)

    def process_view(self, request: HttpRequest, *args, **kwargs):
        if self._environ_span_key in request.META:
            return super().process_view(request, *args, **kwargs)
        return None

    def process_exception(self, request: HttpRequest, exception: Exception):
        if self._environ_span_key in request.META:
            return super().process_exception(request, exception)
        return None
