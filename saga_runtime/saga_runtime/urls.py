from django.urls import include, path, register_converter
from drf_spectacular.views import SpectacularAPIView

from . import api, docs, health


class UnroutedPath:
    """Any path except under admin/, api-auth/ (the browsable API's login, in the projects'
    URLconfs) and static/, whose own 404s and redirects (a missing slash) stay as they are."""

    regex = r"(?!admin(?:/|$)|api-auth(?:/|$)|static/).*"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(UnroutedPath, "unrouted")

urlpatterns = [
    # The service's OpenAPI 3 description (?format=json for JSON) and two readers of it.
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", docs.SwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/redoc/", docs.RedocView.as_view(url_name="schema"), name="redoc"),
    path("health/live", health.live, name="health-live"),
    path("health/ready", health.ready, name="health-ready"),
    path("", include("django_prometheus.urls")),
    # Last: any other path answers the API's JSON 404, even with DEBUG on.
    path("<unrouted:path>", api.not_found),
]
