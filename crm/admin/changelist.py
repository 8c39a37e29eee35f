"""Changelists that stay fast on big tables: estimated counts, bounded filters.

What Django's admin does by default on a table of a million rows, and what
replaces it here:

- ``COUNT(*)`` of the whole table on every unfiltered page (the paginator)
  and a second one for "N total" (``show_full_result_count``): the first
  becomes PostgreSQL's own estimate (``pg_class.reltuples``, kept by ANALYZE and
  autovacuum) past ``ESTIMATED_COUNT_FROM`` rows, the second goes;
- a filtered or searched changelist's ``COUNT(*)`` of every match: counted up
  to ``COUNT_CAP``, "more than" that past it (``templates/admin/pagination.html``);
- the date hierarchy's ``SELECT DISTINCT`` of every row's year (or month, or
  day): the links are computed from the filtered rows' MIN and MAX, one
  statement of two index probes (``templates/admin/crm/change_list.html``),
  not drawn for a search past ``COUNT_CAP``;
- ``RelatedOnlyFieldListFilter``'s ``SELECT DISTINCT assignee_id`` of every row:
  the assignee filter lists the members of staff instead.

And a date hierarchy asked for a year, month or day no date has (9999, whose
end is past the last date; 1, before the first moment once in UTC) is ignored
as Django ignores a malformed one, where it was a 500
(``BoundedDateHierarchyMixin``).
"""

import datetime

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.templatetags.admin_list import date_hierarchy
from django.contrib.admin.views.main import ChangeList
from django.core.paginator import Paginator
from django.db import connections, models
from django.db.models import Max, Min
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

from crm import clock
from crm.managers import Deadline
from crm.roles import staff_members
from crm.security import is_ascii_int

# Below this many rows an exact count is cheap: count them.
ESTIMATED_COUNT_FROM = 100_000
# A filtered or searched changelist counts its rows up to this many: past it,
# "more than" this many, its pages stop there and the date bar is not drawn
# for a search (its MIN and MAX would read every match).
COUNT_CAP = 10_000


def estimated_row_count(model) -> int | None:
    """Return PostgreSQL's estimate of the rows in ``model``'s table (None elsewhere)."""
    connection = connections["default"]
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
            [model._meta.db_table],
        )
        row = cursor.fetchone()
    # -1: never analysed yet.
    return row[0] if row and row[0] >= 0 else None


class EstimatedCountPaginator(Paginator):
    """Count an unfiltered big table by PostgreSQL's estimate, anything else up to ``COUNT_CAP``.

    A filtered or searched changelist has a WHERE clause and is counted, but
    only up to ``COUNT_CAP`` rows and one more (``capped``): a word in every
    title of a million follow-ups is "more than 10,000", read from the first
    rows that match, not counted to the last.
    """

    cap = COUNT_CAP

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        if not queryset.query.where:
            estimate = estimated_row_count(queryset.model)
            if estimate is not None and estimate >= ESTIMATED_COUNT_FROM:
                return estimate
            return super().count
        return queryset.order_by()[: self.cap + 1].count()

    @property
    def capped(self) -> bool:
        """Tell whether there are more rows than were counted."""
        return bool(self.object_list.query.where) and self.count > self.cap


class BigTableAdmin(admin.ModelAdmin):
    """What a changelist on a table that grows for years sets."""

    paginator = EstimatedCountPaginator
    show_full_result_count = False


class DeadlineFilter(admin.SimpleListFilter):
    """The dashboard's groups (``Deadline``), as of the request's today."""

    title = _("deadline")
    parameter_name = "deadline"

    def lookups(self, request, model_admin):
        return Deadline.choices

    def queryset(self, request, queryset):
        if self.value() in Deadline.values:
            return queryset.deadline(self.value(), today=clock.today())
        return queryset


class MissionFilter(admin.SimpleListFilter):
    """Follow-ups promised in one mission's meetings (the mission scorecard's link)."""

    title = _("mission")
    parameter_name = "mission"

    def lookups(self, request, model_admin):
        from crm.models import Mission

        return list(Mission.objects.order_by("-start_on").values_list("slug", "title"))

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(interaction__mission__slug=self.value())
        return queryset


class StaffListFilter(admin.RelatedFieldListFilter):
    """A user filter that lists the members of staff, not every user of the table.

    ``RelatedOnlyFieldListFilter`` would read the distinct users of every row.
    """

    def field_choices(self, field, request, model_admin):
        return [
            (user.pk, user.get_full_name() or user.get_username())
            for user in staff_members().order_by("first_name", "last_name", "username")
        ]


def _steps(first: datetime.date, last: datetime.date, kind: str) -> list[datetime.date]:
    """Return every year, month or day from ``first`` to ``last``, as dates."""
    if kind == "year":
        return [datetime.date(year, 1, 1) for year in range(first.year, last.year + 1)]
    if kind == "month":
        months = range(first.year * 12 + first.month - 1, last.year * 12 + last.month)
        return [datetime.date(n // 12, n % 12 + 1, 1) for n in months]
    days = (last - first).days
    return [first + datetime.timedelta(days=n) for n in range(days + 1)]


class _SpannedDates:
    """``cl.queryset`` for Django's date hierarchy, whose ``dates()`` is MIN to MAX.

    Django lists the distinct years (months, days) of the rows, which reads
    every row; this lists every one between the first and the last row's,
    which reads two. A year without rows in between is listed too and shows an
    empty page: the price of not scanning the table.
    """

    def __init__(self, queryset, field_name: str):
        self._queryset = queryset
        self._field_name = field_name
        self._first_last = None

    def aggregate(self, **kwargs):
        # Django's date_hierarchy asks for first=Min(field), last=Max(field):
        # the same span that dates() needs, read once per page.
        if set(kwargs) == {"first", "last"}:
            first, last = self._span(self._field_name)
            return {"first": first, "last": last}
        return self._queryset.aggregate(**kwargs)

    def _span(self, field_name: str):
        if field_name != self._field_name:
            span = self._queryset.aggregate(first=Min(field_name), last=Max(field_name))
            return span["first"], span["last"]
        if self._first_last is None:
            # One statement: MIN and MAX, each the end of the field's index
            # (or, for a few matches, read from them).
            span = self._queryset.aggregate(first=Min(field_name), last=Max(field_name))
            self._first_last = span["first"], span["last"]
        return self._first_last

    def dates(self, field_name: str, kind: str) -> list[datetime.date]:
        first, last = self._span(field_name)
        if first is None or last is None:
            return []
        return _steps(first, last, kind)

    def datetimes(self, field_name: str, kind: str) -> list[datetime.date]:
        first, last = self._span(field_name)
        if first is None or last is None:
            return []
        first, last = (
            timezone.localtime(moment) if timezone.is_aware(moment) else moment
            for moment in (first, last)
        )
        return _steps(first.date(), last.date(), kind)


def bounded_date_hierarchy(cl):
    """Return Django's date hierarchy of ``cl`` with links from MIN and MAX, not DISTINCT.

    Not drawn for a search that matched more than ``COUNT_CAP`` rows: the
    first and last dates of a word in every row would read every row.
    """
    if cl.query and getattr(cl.paginator, "capped", False):
        return {"show": False}

    class _ChangeList:
        def __getattr__(self, name):
            return getattr(cl, name)

    proxy = _ChangeList()
    proxy.queryset = _SpannedDates(cl.queryset, cl.date_hierarchy)
    return date_hierarchy(proxy)


# The years a date hierarchy may ask for: the year after is its end, and the
# first moment of year 1 in the unit's time zone is before datetime.min in UTC.
DATE_HIERARCHY_YEARS = range(2, datetime.MAXYEAR)


def date_hierarchy_in_range(params, field: str) -> bool:
    """Tell whether the ``<field>__year/month/day`` of ``params`` name a day that exists.

    Django reads them with ``int()`` and builds the span from the first day to
    the next year, month or day: its ``ValueError`` on a bad spelling is
    handled, but not its ``ValueError`` or ``OverflowError`` past the last
    date or, once made aware, before the first.
    """
    year = params.get(f"{field}__year")
    if year is None:
        return True
    month = params.get(f"{field}__month")
    day = params.get(f"{field}__day")
    parts = [part for part in (year, month, day) if part is not None]
    if not all(is_ascii_int(part) for part in parts):
        return False
    if int(year) not in DATE_HIERARCHY_YEARS:
        return False
    try:
        datetime.date(int(year), int(month or 1), int(day or 1))
    except ValueError:
        return False
    return True


class BoundedDateChangeList(ChangeList):
    """Django's changelist, refusing an out-of-range date hierarchy as it does a malformed one."""

    def get_filters(self, request):
        if self.date_hierarchy and not date_hierarchy_in_range(request.GET, self.date_hierarchy):
            # The admin's answer to a lookup it cannot run: back to the whole list.
            raise IncorrectLookupParameters
        return super().get_filters(request)


class BoundedDateHierarchyMixin:
    """For every admin with a ``date_hierarchy``: out-of-range dates are ignored, never a 500."""

    def get_changelist(self, request, **kwargs):
        return BoundedDateChangeList


# A related model's matches are looked up first, then matched by foreign key;
# past this many the search falls back to a subquery (correct, but slower).
RELATED_MATCH_LIMIT = 1_000


class IndexedSearchMixin:
    """Admin search blind to accents and case, where each searched text is read through an index.

    Each word of the query must be in one of the search fields, as in Django,
    but compared as the staff search compares (``crm.search``): folded
    (``crm_fold()``: lower case, no accents), so that "stephane" finds
    "Stéphane" in the admin too. The changelist's own columns are joined and
    folded into one text, the expression a trigram index holds (migrations 0019
    and 0035; a model with an indexed text, ``crm.search.INDEXED_TEXT``, is
    searched in all of it). A column one foreign key away
    (``organization__name``) is first looked up in its own, small table, then
    matched by the foreign key's index: PostgreSQL ORs the bitmaps of indexes
    of one table. Fields further away keep a join. Search fields are plain
    paths, without Django's ``^``/``=``/``@`` prefixes.

    Its changelists count their matches up to ``COUNT_CAP`` (``EstimatedCountPaginator``).
    """

    paginator = EstimatedCountPaginator

    def get_search_results(self, request, queryset, search_term):
        from django.contrib.admin.utils import lookup_spawns_duplicates
        from django.db.models import F, Q, Value
        from django.db.models.functions import Cast
        from django.db.models.lookups import Contains
        from django.utils.text import smart_split, unescape_string_literal

        from crm.search import Fold, indexed_text, text_of

        search_fields = [str(field) for field in self.get_search_fields(request)]
        if not (search_fields and search_term):
            return queryset, False
        opts = queryset.model._meta
        own, related, other = [], {}, []
        for field_name in search_fields:
            parts = field_name.split("__")
            if len(parts) > 2:
                other.append(field_name)
            elif len(parts) == 1 and isinstance(
                opts.get_field(field_name), (models.CharField, models.TextField)
            ):
                own.append(field_name)
            elif len(parts) == 1:
                # Not text in the database (an address, a number): compared as text.
                other.append(field_name)
            elif opts.get_field(parts[0]).is_relation:
                related.setdefault(parts[0], []).append(parts[1])
            else:
                other.append(field_name)
        own_text = Fold(text_of(*indexed_text(opts.label_lower, own))) if own else None
        duplicates = False
        for bit in smart_split(search_term):
            if bit.startswith(('"', "'")) and bit[0] == bit[-1]:
                bit = unescape_string_literal(bit)
            word = Fold(Value(bit))
            condition = Q()
            if own_text is not None:
                condition |= Q(Contains(own_text, word))
            for relation, names in related.items():
                condition |= self._related_match(opts, relation, names, word)
            for field_name in other:
                as_text = Cast(F(field_name), models.TextField())
                condition |= Q(Contains(Fold(as_text), word))
                duplicates = duplicates or lookup_spawns_duplicates(opts, field_name)
            queryset = queryset.filter(condition)
        return queryset, duplicates

    @staticmethod
    def _related_match(opts, relation: str, names: list[str], word):
        """Return the condition "a record ``relation`` leads to has ``word`` in ``names``".

        The related records are found in their own table first. Through a
        foreign key, the condition is then on the foreign key's column; through
        a many-to-many or reverse relation, on the ids of the records they lead
        to, looked up too: never a join, so that the changelist's own index
        and this condition OR their bitmaps, and no row comes twice.
        """
        from django.db.models import Q
        from django.db.models.lookups import Contains

        from crm.search import Fold, text_of

        field = opts.get_field(relation)
        found = (
            field.related_model._default_manager.filter(Contains(Fold(text_of(*names)), word))
            .order_by()
            .values_list("pk", flat=True)
        )
        if not field.many_to_one:
            found = (
                opts.model._default_manager.filter(**{f"{relation}__in": found})
                .order_by()
                .values_list("pk", flat=True)
                .distinct()
            )
            relation = "pk"
        ids = list(found[: RELATED_MATCH_LIMIT + 1])
        if len(ids) > RELATED_MATCH_LIMIT:
            return Q(**{f"{relation}__in": found})
        return Q(**{f"{relation}__in": ids}) if ids else Q(pk__in=[])
