"""The two readers of a service's OpenAPI description (Swagger UI and Redoc), served with
everything they load coming from the service itself.

Their scripts and styles come from drf-spectacular-sidecar. Redoc's bundle still links a logo
on cdn.redoc.ly and drf-spectacular's page links Google's fonts, so both pages also carry a
Content-Security-Policy that lets the browser fetch nothing from another host: a service may
run where there is no internet, and reading its docs should not tell a third party.
"""

from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerView

#: Both readers run an inline script (their settings) and set inline styles; Redoc's search
#: runs in a worker made from a blob. Nothing else, and nothing from elsewhere.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self' 'unsafe-inline'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "worker-src 'self' blob:",
        "frame-ancestors 'none'",
    ]
)


class SameOriginOnly:
    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        return response


class SwaggerView(SameOriginOnly, SpectacularSwaggerView):
    pass


class RedocView(SameOriginOnly, SpectacularRedocView):
    # drf-spectacular's page without its links to Google's fonts.
    template_name = "saga_runtime/redoc.html"
