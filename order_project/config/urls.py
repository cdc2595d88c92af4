from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("orders.urls")),
    path("", include("saga_runtime.urls")),
]

handler400 = "saga_runtime.api.bad_request"
handler404 = "saga_runtime.api.not_found"
handler500 = "saga_runtime.api.server_error"
