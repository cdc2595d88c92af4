from django.urls import path

from .apis import StockDetailApi, StockListCreateApi

urlpatterns = [
    path("inventories", StockListCreateApi.as_view(), name="stock-list"),
    path("inventories/<str:sku_code>", StockDetailApi.as_view(), name="stock-detail"),
]
