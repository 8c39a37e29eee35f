"""Every list as a spreadsheet: streamed CSV and XLSX with all matching rows.

Both walk the filtered queryset with ``iterator(chunk_size=…)``, so memory does
not grow with the number of rows: related rows come from ``select_related`` and
per-chunk prefetches, never one query per row. Columns are the serializer's
fields, headed by their labels in the request's language.
"""

import csv
import operator
import re
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime

from django.db import models
from django.http import FileResponse, StreamingHttpResponse
from django.utils import timezone, translation
from django.utils.text import capfirst
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from rest_framework import serializers
from rest_framework.fields import SkipField

CHUNK_SIZE = 2000
CSV_MEDIA_TYPE = "text/csv"
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMATS = ("csv", "xlsx")


class _Echo:
    """A file-like object whose write() hands back the line csv.writer made."""

    def write(self, value: str) -> str:
        return value


def _columns(serializer: serializers.Serializer) -> list[tuple[str, serializers.Field]]:
    return [(name, field) for name, field in serializer.fields.items() if not field.write_only]


def _headers(columns) -> list[str]:
    return [capfirst(str(field.label or name)) for name, field in columns]


def _typed(field: serializers.Field, instance, represented):
    """Return a cell value: dates and moments as such, lists joined, else text."""
    if isinstance(field, (serializers.DateField, serializers.DateTimeField)):
        try:
            value = field.get_attribute(instance)
        except SkipField:
            return None
        if isinstance(value, datetime):
            # Spreadsheets know no time zones: the unit's local time, as shown.
            return timezone.localtime(value).replace(tzinfo=None)
        return value if isinstance(value, date) else None
    if isinstance(represented, list):
        return "; ".join(str(item) for item in represented)
    return represented


def _serialized_rows(queryset, serializer: serializers.Serializer, columns) -> Iterator[list]:
    """The reference path: model instances through the serializer, row by row."""
    for instance in queryset.iterator(chunk_size=CHUNK_SIZE):
        data = serializer.to_representation(instance)
        yield [_typed(field, instance, data.get(name)) for name, field in columns]


def _rows(queryset, serializer: serializers.Serializer, columns) -> Iterator[list]:
    """Cell values of every row: the fast path when every column has one, else the serializer's.

    Both yield the same values (``tests/test_api_export.py`` compares them for
    every list). Call it with the language of the labels active.
    """
    plan = fast_plan(queryset, serializer, columns)
    if plan is None:
        return _serialized_rows(queryset, serializer, columns)
    return plan.rows(queryset, CHUNK_SIZE)


# The fast path.
#
# Per export, each column is compiled once into the database values it needs
# (``values_list`` paths, joins included) and a function that turns them into
# the cell value the serializer path gives. Rows are then read as tuples over
# the same server-side cursor: no model instances, no DRF field per cell, labels
# looked up in dicts built once per export, "today" computed once.
#
# A column is compiled only when its field is one of the shapes below; any other
# (a list of related ids or names, e.g. an interaction's organisations, a
# nested serializer, an unknown method field or property) makes the whole
# export take the serializer path, which stays the reference.

# Fields whose representation of a non-null database value is the value itself
# (or str() of a str).
_INTEGER_FIELDS = tuple(
    kind
    for kind in (serializers.IntegerField, getattr(serializers, "BigIntegerField", None))
    if kind is not None
)
_IDENTITY_FIELDS = (
    *_INTEGER_FIELDS,
    serializers.CharField,
    serializers.EmailField,
    serializers.URLField,
    serializers.SlugField,
    serializers.ReadOnlyField,
)
# Fields whose own to_representation is applied to the database value.
_REPRESENTED_FIELDS = (
    serializers.ChoiceField,
    serializers.BooleanField,
    serializers.DecimalField,
    serializers.FloatField,
    serializers.UUIDField,
    serializers.JSONField,
)


@dataclass
class _Computed:
    """A property or method of a model, computed from some of its fields."""

    paths: tuple[str, ...]
    compute: Callable[..., object]


def _computed() -> dict[tuple[type, str], _Computed]:
    """Properties and methods of models that serializers export, as functions of fields.

    Each must say what the model's own code says; the comparison test of every
    list catches a drift.
    """
    from crm.models import Affiliation, Partnership, Person

    return {
        (Person, "full_name"): _Computed(
            ("given_name", "family_name"), lambda given, family: f"{given} {family}".strip()
        ),
        (Affiliation, "is_active"): _Computed(("end_on",), lambda end_on: end_on is None),
        (Partnership, "__str__"): _Computed(
            ("organization__name", "project__name"),
            lambda organization, project: f"{organization} — {project}",
        ),
    }


def _is_overdue_column():
    """FollowUpSerializer.is_overdue: the one meaning of overdue on values, today once.

    SQL paths use ``FollowUp.objects.overdue_expression(today=…)`` instead.
    """
    from crm.managers import is_overdue

    def make(context):
        today = context["today"]
        return lambda status, due_on: is_overdue(status=status, due_on=due_on, today=today)

    return ("status", "due_on"), make


class _Plan:
    """The values to read and, per column, how to make its cell from them."""

    def __init__(self):
        self.paths: list[str] = []
        # Per column: (indexes in the row tuple, factory(context) -> function).
        self.columns: list[tuple[tuple[int, ...], Callable]] = []

    def index(self, path: str) -> int:
        if path not in self.paths:
            self.paths.append(path)
        return self.paths.index(path)

    def add(self, paths, make) -> None:
        self.columns.append((tuple(self.index(path) for path in paths), make))

    def rows(self, queryset, chunk_size: int) -> Iterator[list]:
        # Computed when the rows are read, in the language and time zone then
        # active, as the serializer path does.
        context = {
            "today": timezone.localdate(),
            "timezone": timezone.get_current_timezone(),
        }
        getters = []
        for indexes, make in self.columns:
            function = make(context)
            if len(indexes) == 1:
                (i,) = indexes
                if function is None:
                    getters.append(operator.itemgetter(i))
                else:
                    getters.append(lambda row, i=i, function=function: function(row[i]))
            else:
                pick = operator.itemgetter(*indexes)
                getters.append(lambda row, pick=pick, function=function: function(*pick(row)))
        values = queryset.values_list(*self.paths).iterator(chunk_size=chunk_size)
        for row in values:
            yield [getter(row) for getter in getters]


def _path(model, source_attrs, annotations):
    """Return (values path, final model, last attribute) of a dotted source, or None.

    Only forward relations (foreign keys, one-to-one) are followed; the last
    attribute is checked by the caller.
    """
    parts = []
    for attr in source_attrs[:-1]:
        try:
            field = model._meta.get_field(attr)
        except Exception:
            return None
        if not (field.concrete and (field.many_to_one or field.one_to_one)):
            return None
        parts.append(attr)
        model = field.related_model
    last = source_attrs[-1]
    if not parts and last in annotations:
        return "__".join([last]), None, last
    return "__".join(parts), model, last


def _model_field(model, name):
    """The concrete field called ``name`` (or whose column attribute it is), or None."""
    for field in model._meta.concrete_fields:
        if name in (field.name, field.attname):
            return field
    return None


def _join(prefix: str, name: str) -> str:
    return f"{prefix}__{name}" if prefix else name


def _none_or(function):
    return lambda value: None if value is None else function(value)


def _typed_moment(context):
    tz = context["timezone"]

    def typed(value):
        if isinstance(value, datetime):
            return timezone.localtime(value, tz).replace(tzinfo=None)
        return value if isinstance(value, date) else None

    return typed


def _listed(value):
    if isinstance(value, list):
        return "; ".join(str(item) for item in value)
    return value


def _compile(plan: _Plan, queryset, serializer, name: str, field) -> bool:
    from crm.api.serializers import ChoiceLabelField, FollowUpSerializer, UserLabelField
    from crm.models import FollowUp

    model = queryset.model
    annotations = queryset.query.annotations
    kind = type(field)
    if getattr(field, "coerce_to_string", False):  # A big integer sent as text.
        return False

    if kind is serializers.SerializerMethodField:
        method = getattr(type(serializer), field.method_name, None)
        if (
            model is FollowUp
            and field.method_name == "get_is_overdue"
            and method is FollowUpSerializer.get_is_overdue
        ):
            plan.add(*_is_overdue_column())
            return True
        return False

    source_attrs = field.source_attrs
    if not source_attrs or field.source == "*":
        return False

    if kind is ChoiceLabelField:
        # source="get_<field>_display": the label of the value, in the language
        # active when the rows are read; an unknown value is shown as itself.
        resolved = _path(model, source_attrs, {})
        last = source_attrs[-1]
        if resolved is None or not (last.startswith("get_") and last.endswith("_display")):
            return False
        prefix, target, _last = resolved
        choice = _model_field(target, last[len("get_") : -len("_display")])
        if choice is None or not choice.choices:
            return False

        def make_label(context, choice=choice):
            labels = {value: str(label) for value, label in choice.flatchoices}
            return _none_or(lambda value: str(labels.get(value, value)))

        plan.add([_join(prefix, choice.name)], make_label)
        return True

    resolved = _path(model, source_attrs, annotations)
    if resolved is None:
        return False
    prefix, target, last = resolved
    if target is None:  # An annotation of the queryset.
        if isinstance(field, (serializers.DateField, serializers.DateTimeField)):
            plan.add([prefix], _typed_moment)
            return True
        if kind in _IDENTITY_FIELDS:
            plan.add([prefix], lambda context: None)
            return True
        return False

    if kind is UserLabelField:
        # user_label(): the full name, else the user name; None without a user.
        from django.contrib.auth.models import AbstractUser

        relation = _model_field(target, last)
        if relation is None or not relation.many_to_one:
            return False
        user_model = relation.related_model
        if user_model.get_full_name is not AbstractUser.get_full_name or (
            user_model.USERNAME_FIELD != "username"
        ):
            return False
        base = _join(prefix, relation.name)

        def make_user(context):
            def label(first_name, last_name, username):
                if username is None:
                    return None
                return f"{first_name} {last_name}".strip() or username

            return label

        plan.add([f"{base}__first_name", f"{base}__last_name", f"{base}__username"], make_user)
        return True

    if isinstance(field, serializers.ManyRelatedField):
        return False
    if kind in (serializers.PrimaryKeyRelatedField,) or (
        isinstance(field, serializers.PrimaryKeyRelatedField)
        and type(field).to_representation is serializers.PrimaryKeyRelatedField.to_representation
        and type(field).get_attribute is serializers.PrimaryKeyRelatedField.get_attribute
    ):
        relation = _model_field(target, last)
        if relation is None or not relation.is_relation or field.pk_field is not None:
            return False
        plan.add([_join(prefix, relation.name)], lambda context: None)
        return True

    model_field = _model_field(target, last)
    if model_field is None:
        computed = _computed().get((target, last))
        if computed is None:
            return False
        paths = [_join(prefix, path) for path in computed.paths]
        compute = computed.compute
        if prefix:
            # The related row may be missing: then the cell is empty, as the
            # serializer's default (or a skipped field) makes it.
            guard = prefix
            paths = [guard, *paths]
            represent = field.to_representation if kind not in _IDENTITY_FIELDS else None

            def make_guarded(context, compute=compute, represent=represent):
                def cell(related, *values):
                    if related is None:
                        return None
                    value = compute(*values)
                    if value is None:
                        return None
                    return _listed(represent(value)) if represent else value

                return cell

            plan.add(paths, make_guarded)
            return True
        if kind not in _IDENTITY_FIELDS and kind not in _REPRESENTED_FIELDS:
            return False
        represent = field.to_representation if kind not in _IDENTITY_FIELDS else None

        def make_computed(context, compute=compute, represent=represent):
            def cell(*values):
                value = compute(*values)
                if value is None:
                    return None
                return _listed(represent(value)) if represent else value

            return cell

        plan.add(paths, make_computed)
        return True

    path = _join(prefix, model_field.name)
    if isinstance(field, (serializers.DateField, serializers.DateTimeField)):
        if type(field) not in (serializers.DateField, serializers.DateTimeField):
            return False
        plan.add([path], _typed_moment)
        return True
    # A foreign key only as its column (``partnership.organization_id``): its id.
    if model_field.is_relation and (last != model_field.attname or kind not in _INTEGER_FIELDS):
        return False
    if kind in _IDENTITY_FIELDS:
        if (kind in _INTEGER_FIELDS and isinstance(model_field, models.IntegerField)) or (
            kind not in _INTEGER_FIELDS
            and isinstance(model_field, (models.CharField, models.TextField))
        ):
            plan.add([path], lambda context: None)
        else:
            plan.add([path], lambda context, field=field: _none_or(field.to_representation))
        return True
    if kind in _REPRESENTED_FIELDS:
        plan.add(
            [path],
            lambda context, field=field: _none_or(
                lambda value: _listed(field.to_representation(value))
            ),
        )
        return True
    return False


def fast_plan(queryset, serializer: serializers.Serializer, columns) -> _Plan | None:
    """Compile the columns for the fast path; None if one of them has no fast form."""
    plan = _Plan()
    for name, field in columns:
        if not _compile(plan, queryset, serializer, name, field):
            return None
    return plan


# A cell starting with one of these is run as a formula by spreadsheet programs.
FORMULA_STARTS = ("=", "@", "\t", "\r")
# "+" and "-" start a formula too (OWASP's ``-2+3+cmd|' /C calc'!A0``); only a
# value that is wholly a number or a phone number ("-12", "+228 90 00 00 00")
# is kept as is.
PLAIN_NUMBER_RE = re.compile(r"[+-]?[\d\s().]+")


def neutralize(value: str) -> str:
    """Return ``value`` safe in a spreadsheet cell: no formula, no control characters.

    User text such as ``=HYPERLINK(…)`` would otherwise run when the file is
    opened; a leading apostrophe makes it plain text, as spreadsheet programs do.
    """
    value = ILLEGAL_CHARACTERS_RE.sub("", value)
    if value.startswith(FORMULA_STARTS) or (
        value[:1] in ("+", "-") and not PLAIN_NUMBER_RE.fullmatch(value)
    ):
        return "'" + value
    return value


def _csv_value(value):
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return neutralize(value)
    return "" if value is None else value


def _filename(basename: str, extension: str) -> str:
    return f"{basename}-{timezone.localdate():%Y-%m-%d}.{extension}"


def csv_response(queryset, serializer: serializers.Serializer, basename: str):
    """Stream ``queryset`` as CSV (UTF-8 with a BOM, which spreadsheet programs need)."""
    columns = _columns(serializer)
    headers = _headers(columns)
    # The response is produced after the view returns, when the middleware has
    # already reset the language: labels in the rows need it set again.
    language = translation.get_language()

    def lines() -> Iterator[str]:
        writer = csv.writer(_Echo())
        yield "\ufeff" + writer.writerow(headers)
        with translation.override(language):
            for row in _rows(queryset, serializer, columns):
                yield writer.writerow([_csv_value(value) for value in row])

    response = StreamingHttpResponse(lines(), content_type=f"{CSV_MEDIA_TYPE}; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{_filename(basename, "csv")}"'
    return response


def xlsx_response(queryset, serializer: serializers.Serializer, basename: str, title: str):
    """Write ``queryset`` to an XLSX workbook, dates typed, and send it.

    openpyxl's write-only mode keeps rows on disk as they are written; the
    finished file is sent from a temporary file, not from memory.
    """
    columns = _columns(serializer)
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title[:31])
    bold = Font(bold=True)
    header_cells = []
    for header in _headers(columns):
        cell = WriteOnlyCell(sheet, value=header)
        cell.font = bold
        header_cells.append(cell)
    sheet.append(header_cells)
    for row in _rows(queryset, serializer, columns):
        cells = []
        for value in row:
            if isinstance(value, str):
                value = neutralize(value)
            cell = WriteOnlyCell(sheet, value=value)
            if isinstance(value, datetime):
                cell.number_format = "yyyy-mm-dd hh:mm"
            elif isinstance(value, date):
                cell.number_format = "yyyy-mm-dd"
            cells.append(cell)
        sheet.append(cells)
    # Closed (and so deleted) by FileResponse once sent.
    file = tempfile.TemporaryFile()  # noqa: SIM115
    workbook.save(file)
    file.seek(0)
    return FileResponse(
        file,
        as_attachment=True,
        filename=_filename(basename, "xlsx"),
        content_type=XLSX_MEDIA_TYPE,
    )
