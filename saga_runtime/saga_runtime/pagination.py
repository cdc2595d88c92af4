"""The API's pagination, in a module of its own: DRF imports the DEFAULT_PAGINATION_CLASS
while it defines its generic views, so this module must import nothing that imports them
(saga_runtime.api does, through drf-spectacular)."""

from rest_framework import pagination


class PageNumberPagination(pagination.PageNumberPagination):
    """DRF's page numbers, described as they behave: an empty ``?page=`` is the first page."""

    def get_schema_operation_parameters(self, view) -> list[dict]:
        return [
            parameter | {"allowEmptyValue": True}
            for parameter in super().get_schema_operation_parameters(view)
        ]
