from django.urls import path

from saga_runtime.api import ApiRoot

from .apis import PaymentDetailApi, PaymentListApi

urlpatterns = [
    path("", ApiRoot.as_view(endpoints={"payments": "payment-list"}), name="api-root"),
    path("payments", PaymentListApi.as_view(), name="payment-list"),
    path("payments/<int:pk>", PaymentDetailApi.as_view(), name="payment-detail"),
]
