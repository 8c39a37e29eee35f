"""Bounded pages with a capped count, and a cursor for incremental sync.

A page's ``count`` is exact up to ``COUNT_CAP`` rows and never costs more than
counting that many: above it, ``count`` is ``COUNT_CAP`` and ``count_exact`` is
false (the README's "API" section says so). An exact ``COUNT(*)`` of a list of a
million follow-ups reads every matching row, which is most of a page's time; a
client that needs every row follows ``next`` or asks for the CSV export.
"""

import math

from django.core.paginator import EmptyPage, Page, PageNotAnInteger, Paginator
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from rest_framework import pagination
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from crm.audit import filters_of, record_export
from crm.models import ExportLog
from crm.security import is_ascii_int

# Rows counted at most for a page's ``count``.
COUNT_CAP = 10_000


class CappedPaginator(Paginator):
    """A Paginator whose count stops at ``COUNT_CAP``; pages beyond it still work.

    Above the cap a page is read with one row more than it shows, which tells
    whether there is a next page without counting.
    """

    cap = COUNT_CAP

    @cached_property
    def count(self) -> int:
        # COUNT(*) over a LIMIT: at most cap + 1 rows are read.
        counted = self.object_list.order_by()[: self.cap + 1].count()
        self.capped = counted > self.cap
        return min(counted, self.cap)

    def validate_number(self, number):
        self.count  # noqa: B018 - sets self.capped
        if not self.capped:
            return super().validate_number(number)
        try:
            if isinstance(number, float) and not number.is_integer():
                raise ValueError
            number = int(number)
        except (TypeError, ValueError) as error:
            raise PageNotAnInteger(_("That page number is not an integer")) from error
        if number < 1:
            raise EmptyPage(_("That page number is less than 1"))
        return number

    def page(self, number):
        number = self.validate_number(number)
        if not self.capped:
            return super().page(number)
        bottom = (number - 1) * self.per_page
        rows = list(self.object_list[bottom : bottom + self.per_page + 1])
        if not rows and number > 1:
            raise EmptyPage(_("That page contains no results"))
        page = Page(rows[: self.per_page], number, self)
        page.has_next = lambda: len(rows) > self.per_page
        return page

    @property
    def num_pages(self) -> int:
        if getattr(self, "capped", False):
            # At least this many; has_next() of each page tells the rest.
            return math.ceil(self.cap / self.per_page)
        return super().num_pages


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


def record_large_page(paginator, request, view, page) -> None:
    """Record a page larger than the default in the export log, as an export is.

    ``?page_size=500`` takes a list wholesale, ten pages at a time: what an
    export does, so it leaves the same trace (who, which list, which filters,
    how many rows). Pages of the default size and smaller are ordinary reading.
    """
    # The class's page size: DRF's cursor pagination overwrites the instance's
    # with the size asked for.
    if page is None or paginator.get_page_size(request) <= type(paginator).page_size:
        return
    record_export(
        request,
        user=request.user,
        kind=ExportLog.Kind.JSON,
        resource=getattr(view, "export_basename", ""),
        filters=filters_of(request.query_params),
        row_count=len(page),
    )


class PageNumberPagination(pagination.PageNumberPagination):
    """50 rows a page by default; ``?page_size=`` up to 500; a count capped at COUNT_CAP."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
    django_paginator_class = CappedPaginator

    def get_page_size(self, request) -> int:
        return _strict_page_size(self, request)

    def paginate_queryset(self, queryset, request, view=None):
        page = super().paginate_queryset(queryset, request, view)
        record_large_page(self, request, view, page)
        return page

    def get_paginated_response(self, data):
        paginator = self.page.paginator
        return Response(
            {
                "count": paginator.count,
                "count_exact": not paginator.capped,
                "next": self.get_next_link(),
                "previous": self.get_previous_link(),
                "results": data,
            }
        )

    def get_paginated_response_schema(self, schema):
        schema = super().get_paginated_response_schema(schema)
        # Cursor pages (``updated_since`` or ``cursor``) carry no count.
        schema["required"] = ["results"]
        schema["properties"]["count"]["description"] = (
            f"Matching rows, exact up to {COUNT_CAP:,}; above, {COUNT_CAP:,} and "
            "count_exact is false. Absent on cursor pages."
        )
        schema["properties"] = {
            "count": schema["properties"]["count"],
            "count_exact": {
                "type": "boolean",
                "description": f"False when more than {COUNT_CAP:,} rows match.",
            },
            **{k: v for k, v in schema["properties"].items() if k != "count"},
        }
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
        page = super().paginate_queryset(queryset, request, view)
        record_large_page(self, request, view, page)
        return page

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
