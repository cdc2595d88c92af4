from django.urls import include, path

urlpatterns = [path("", include("saga_runtime.urls"))]
