from django.urls import path

from .apis import ShipmentDetailApi, ShipmentListApi

urlpatterns = [
    path("shipments", ShipmentListApi.as_view(), name="shipment-list"),
    path("shipments/<int:pk>", ShipmentDetailApi.as_view(), name="shipment-detail"),
]
