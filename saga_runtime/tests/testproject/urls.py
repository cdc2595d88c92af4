from django.urls import include, path

urlpatterns = [path("", include("saga_runtime.urls"))]

handler404 = "saga_runtime.api.not_found"
