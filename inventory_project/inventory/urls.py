from django.urls import path

from saga_runtime.api import ApiRoot

from .apis import StockDetailApi, StockListCreateApi

urlpatterns = [
    path("", ApiRoot.as_view(endpoints={"inventories": "stock-list"}), name="api-root"),
    path("inventories", StockListCreateApi.as_view(), name="stock-list"),
    # path, not str: a SKU may contain "/" (only its length is limited), and its Location must
    # still reverse and resolve.
    path("inventories/<path:sku_code>", StockDetailApi.as_view(), name="stock-detail"),
]
