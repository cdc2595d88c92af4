from django.urls import path

from .apis import StockDetailApi, StockListCreateApi

urlpatterns = [
    path("inventories", StockListCreateApi.as_view(), name="stock-list"),
    # path, not str: a SKU may contain "/" (only its length is limited), and its Location must
    # still reverse and resolve.
    path("inventories/<path:sku_code>", StockDetailApi.as_view(), name="stock-detail"),
]
