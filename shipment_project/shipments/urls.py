from django.urls import path

from saga_runtime.api import ApiRoot

from .apis import ShipmentDetailApi, ShipmentListApi

urlpatterns = [
    path("", ApiRoot.as_view(endpoints={"shipments": "shipment-list"}), name="api-root"),
    path("shipments", ShipmentListApi.as_view(), name="shipment-list"),
    path("shipments/<int:pk>", ShipmentDetailApi.as_view(), name="shipment-detail"),
]
