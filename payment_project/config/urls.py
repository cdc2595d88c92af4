from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("payments.urls")),
    # The browsable API's "Log in" link and page (a session, as the admin's login gives).
    path("api-auth/", include("rest_framework.urls")),
    path("", include("saga_runtime.urls")),
]

handler400 = "saga_runtime.api.bad_request"
handler404 = "saga_runtime.api.not_found"
handler500 = "saga_runtime.api.server_error"
