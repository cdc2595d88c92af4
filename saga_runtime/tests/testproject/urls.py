from django.contrib import admin
from django.urls import include, path

urlpatterns = [path("admin/", admin.site.urls), path("", include("saga_runtime.urls"))]

handler404 = "saga_runtime.api.not_found"
