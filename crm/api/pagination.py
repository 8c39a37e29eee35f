"""Bounded pages, and a cursor for incremental sync."""

from rest_framework import pagination


class PageNumberPagination(pagination.PageNumberPagination):
    """50 rows a page by default; ``?page_size=`` up to 500."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500

    def get_paginated_response_schema(self, schema):
        schema = super().get_paginated_response_schema(schema)
        # Cursor pages (``updated_since`` or ``cursor``) carry no count.
        schema["required"] = ["results"]
        schema["properties"]["count"]["description"] = "Absent on cursor pages."
        return schema

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        if _syncable(view):
            parameters.append(
                {
                    "name": "cursor",
                    "required": False,
                    "in": "query",
                    "description": (
                        "Position in an incremental sync, taken from the `next` link of "
                        "the previous page; pages then follow the order of last change."
                    ),
                    "schema": {"type": "string"},
                }
            )
        return parameters


class SyncCursorPagination(pagination.CursorPagination):
    """Pages in order of last change, for clients that sync with ``updated_since``.

    The cursor is opaque and stable under inserts: a client keeps following
    ``next`` until it is null, then asks again later with ``updated_since`` set
    to the last ``updated_at`` it saw.
    """

    ordering = ("updated_at", "id")
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500

    def get_ordering(self, request, queryset, view):
        # Never the ?ordering= of the list: a cursor must follow one fixed order.
        return self.ordering


def _syncable(view) -> bool:
    queryset = getattr(view, "queryset", None)
    model = queryset.model if queryset is not None else None
    if model is None and hasattr(view, "get_queryset"):
        model = view.get_queryset().model
    return model is not None and hasattr(model, "updated_at")
