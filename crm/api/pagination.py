"""Bounded pages, and a cursor for incremental sync."""

from django.utils.translation import gettext_lazy as _
from rest_framework import pagination
from rest_framework.exceptions import ValidationError

from crm.security import is_ascii_int


def _strict_page_size(paginator, request) -> int:
    """Return the page size asked for, at most the maximum; refuse a malformed one.

    DRF quietly falls back to the default on ``?page_size=abc``; a client that
    asked for something it did not get should be told.
    """
    value = request.query_params.get(paginator.page_size_query_param)
    if value is None:
        return paginator.page_size
    if not is_ascii_int(value) or int(value) < 1:
        raise ValidationError(
            {paginator.page_size_query_param: _("Give a whole number from 1 to 500.")}
        )
    return min(int(value), paginator.max_page_size)


class PageNumberPagination(pagination.PageNumberPagination):
    """50 rows a page by default; ``?page_size=`` up to 500."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500

    def get_page_size(self, request) -> int:
        return _strict_page_size(self, request)

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

    def get_page_size(self, request) -> int:
        return _strict_page_size(self, request)

    def paginate_queryset(self, queryset, request, view=None):
        if self.page_query_param in request.query_params:
            raise ValidationError(
                {
                    "page": _(
                        "Pages by number do not apply with updated_since or cursor: "
                        "follow the next link."
                    )
                }
            )
        return super().paginate_queryset(queryset, request, view)

    page_query_param = "page"

    def get_ordering(self, request, queryset, view):
        # Never the ?ordering= of the list: a cursor must follow one fixed order.
        return self.ordering


def _syncable(view) -> bool:
    queryset = getattr(view, "queryset", None)
    model = queryset.model if queryset is not None else None
    if model is None and hasattr(view, "get_queryset"):
        model = view.get_queryset().model
    return model is not None and hasattr(model, "updated_at")
