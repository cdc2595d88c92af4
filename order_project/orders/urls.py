from django.urls import path

from .apis import OrderDetailApi, OrderListCreateApi

urlpatterns = [
    path("orders", OrderListCreateApi.as_view(), name="order-list"),
    path("orders/<int:pk>", OrderDetailApi.as_view(), name="order-detail"),
]
