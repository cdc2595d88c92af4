from django.urls import path

from saga_runtime.api import ApiRoot

from .apis import OrderDetailApi, OrderListCreateApi

urlpatterns = [
    path("", ApiRoot.as_view(endpoints={"orders": "order-list"}), name="api-root"),
    path("orders", OrderListCreateApi.as_view(), name="order-list"),
    path("orders/<int:pk>", OrderDetailApi.as_view(), name="order-detail"),
]
