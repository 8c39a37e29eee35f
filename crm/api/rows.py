"""The lean read path of the API's JSON lists: ``values()`` rows shaped by the serializer.

A page of 100 follow-ups through model instances and the serializer cost about
25 times the same rows through ``values()`` (docs/benchmarks.md): seven-table
joins that PostgreSQL spends ten milliseconds planning on every request, some
700 model instances, and DRF looking every attribute up field by field.

Here the page's own columns come from one query without joins, and each related
record that a field shows (the project's name, an assignee's name) is read once
per page, with one query per related model whatever the page size. Nothing is
declared twice: the plan is compiled from the serializer's own fields, and each
value still goes through that field's ``to_representation``, so a list row and
the record's detail say the same (tests/test_api_rows.py compares them for every
list that takes this path). A field the plan cannot read from a row (a
``SerializerMethodField`` without a ``row_<name>`` method, a many-to-many, a
property of the record itself) keeps its list on the usual path.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils.encoding import force_str
from rest_framework import ISO_8601, relations, serializers
from rest_framework import fields as drf_fields
from rest_framework.settings import api_settings

from crm.api.serializers import ChoiceLabelField

# How a field reads its value from a record, which a plan replaces by a read from
# a row; a field reading it any other way keeps its list on the usual path.
STANDARD_GET_ATTRIBUTE = (
    drf_fields.Field.get_attribute,
    relations.RelatedField.get_attribute,
    ChoiceLabelField.get_attribute,
)


class NotLean(Exception):
    """The serializer shows something a ``values()`` row cannot give."""


@dataclass
class Related:
    """Records of one model that a page's rows point at, read once per page."""

    model: type[models.Model]
    # The row columns that hold their ids (several for auth.User: assignee, completed_by…).
    columns: list[str] = field(default_factory=list)
    # The concrete fields the fields show, read through values(); None when a
    # field shows the record itself or a property of it: then whole records.
    fields: set[str] | None = field(default_factory=set)

    def load(self, rows: list[dict]) -> dict[Any, Any]:
        ids = {row[column] for row in rows for column in self.columns} - {None}
        if not ids:
            return {}
        manager = self.model._base_manager.filter(pk__in=ids).order_by()
        if self.fields is None:
            return {record.pk: record for record in manager}
        return {values["pk"]: values for values in manager.values("pk", *self.fields)}


@dataclass
class Page:
    """What a page's readers share: the related records, the request's serializer."""

    loaded: dict[type[models.Model], dict]
    serializer: serializers.Serializer


# A reader is made once per page (bind(page)) and then called on each row.
Reader = Callable[[Page], Callable[[dict], Any]]


@dataclass
class Plan:
    """How each key of a list row is read from a ``values()`` row."""

    serializer_class: type[serializers.ModelSerializer]
    columns: list[str]
    related: dict[type[models.Model], Related]
    readers: list[tuple[str, Reader]]  # in the serializer's order

    def rows(self, queryset: models.QuerySet) -> models.QuerySet:
        """Return ``queryset`` as the rows this plan reads: its columns, no joins for display."""
        return queryset.prefetch_related(None).values(*self.columns)

    def represent(self, rows: list[dict], context: dict) -> list[dict]:
        """Return the page's rows as the serializer would show its records."""
        page = Page(
            {model: related.load(rows) for model, related in self.related.items()},
            self.serializer_class(context=context),
        )
        bound = [(key, bind(page)) for key, bind in self.readers]
        return [{key: read(row) for key, read in bound} for row in rows]


def _column(name: str, drf_field) -> Reader:
    to_representation = drf_field.to_representation

    def bind(page):
        def read(row):
            value = row[name]
            return None if value is None else to_representation(value)

        return read

    return bind


def _datetime(name: str, drf_field: drf_fields.DateTimeField) -> Reader:
    """Read a moment as DRF's DateTimeField writes it (ISO 8601, "Z" for UTC).

    Its to_representation looks the current time zone up for every value, the
    largest cost of a row; here it is looked up once per page. Anything but an
    aware moment in ISO 8601 goes through the field itself.
    """
    to_representation = drf_field.to_representation

    def bind(page):
        zone = drf_field.default_timezone()

        def read(row):
            value = row[name]
            if value is None:
                return None
            if zone is None or value.utcoffset() is None:
                return to_representation(value)
            try:
                text = value.astimezone(zone).isoformat()
            except OverflowError:
                return to_representation(value)  # the field's own error
            return text[:-6] + "Z" if text.endswith("+00:00") else text

        return read

    return bind


def _pk(name: str) -> Reader:
    return lambda page: lambda row: row[name]


def _choice_label(name: str, model_field, drf_field) -> Reader:
    to_representation = drf_field.to_representation

    def bind(page):
        # As Model._get_FIELD_display, translated once per page into the
        # request's language.
        labels = {
            value: force_str(label, strings_only=True) for value, label in model_field.flatchoices
        }

        def read(row):
            value = row[name]
            label = labels[value] if value in labels else force_str(value, strings_only=True)
            return None if label is None else to_representation(label)

        return read

    return bind


def _related(column: str, model, attrs: list[str], by_values: bool, drf_field) -> Reader:
    to_representation = drf_field.to_representation

    def bind(page):
        loaded = page.loaded[model]

        def read(row):
            value = loaded.get(row[column])
            if value is not None and attrs:
                value = value[attrs[0]] if by_values else getattr(value, attrs[0])
                if callable(value):
                    value = value()
            return None if value is None else to_representation(value)

        return read

    return bind


def _method(name: str) -> Reader:
    return lambda page: getattr(page.serializer, f"row_{name}")


@cache
def plan_for(
    serializer_class: type[serializers.ModelSerializer], annotations: frozenset[str]
) -> Plan | None:
    """Compile the lean plan of a serializer's list, or None when it has none.

    ``annotations`` are the names the list's queryset annotates: a field whose
    source is one of them reads that column.
    """
    try:
        return _compile(serializer_class, annotations)
    except NotLean:
        return None


def _compile(serializer_class, annotations: frozenset[str]) -> Plan:
    if serializer_class.to_representation is not serializers.Serializer.to_representation:
        raise NotLean("to_representation")
    model = serializer_class.Meta.model
    # A template instance, only to read the fields' definitions: each page's
    # values go through a fresh serializer (Plan.represent).
    fields = serializer_class().fields
    row_columns = getattr(serializer_class, "row_columns", {})
    columns: dict[str, None] = {}  # an ordered set
    related: dict[type[models.Model], Related] = {}
    readers = []
    for key, drf_field in fields.items():
        if drf_field.write_only:
            continue
        if isinstance(drf_field, serializers.SerializerMethodField):
            if not hasattr(serializer_class, f"row_{key}"):
                raise NotLean(key)
            columns.update(dict.fromkeys(row_columns.get(key, ())))
            readers.append((key, _method(key)))
            continue
        if (
            isinstance(drf_field, relations.ManyRelatedField | serializers.BaseSerializer)
            or drf_field.source == "*"
            or type(drf_field).get_attribute not in STANDARD_GET_ATTRIBUTE
        ):
            raise NotLean(key)
        attrs = list(drf_field.source_attrs)
        if isinstance(drf_field, ChoiceLabelField):
            choice = attrs[0].removeprefix("get_").removesuffix("_display")
            model_field = _model_field(model, choice)
            if len(attrs) > 1 or model_field is None:
                raise NotLean(key)
            columns[model_field.attname] = None
            readers.append((key, _choice_label(model_field.attname, model_field, drf_field)))
            continue
        name, *rest = attrs
        model_field = _model_field(model, name)
        if model_field is None:
            if name not in annotations or rest:
                raise NotLean(key)  # a property or method of the record itself
            columns[name] = None
            readers.append((key, _column(name, drf_field)))
        elif not model_field.is_relation:
            if rest:
                raise NotLean(key)
            columns[model_field.attname] = None
            output = getattr(drf_field, "format", api_settings.DATETIME_FORMAT)
            iso = isinstance(output, str) and output.lower() == ISO_8601
            if (
                type(drf_field) is drf_fields.DateTimeField
                and iso
                and not hasattr(drf_field, "timezone")
            ):
                readers.append((key, _datetime(model_field.attname, drf_field)))
            else:
                readers.append((key, _column(model_field.attname, drf_field)))
        elif model_field.many_to_one or (model_field.one_to_one and model_field.concrete):
            columns[model_field.attname] = None
            if not rest and isinstance(drf_field, relations.PrimaryKeyRelatedField):
                if drf_field.pk_field is not None:
                    raise NotLean(key)
                readers.append((key, _pk(model_field.attname)))
                continue
            if model_field.null and not drf_field.allow_null:
                # DRF leaves such a key out when the record names none.
                raise NotLean(key)
            target = model_field.related_model
            # Only the related record itself or its own attributes: one more hop
            # would be a query per record.
            leaf = _model_field(target, rest[0]) if rest else None
            if len(rest) > 1 or getattr(leaf, "is_relation", False):
                raise NotLean(key)
            entry = related.setdefault(target, Related(target))
            if model_field.attname not in entry.columns:
                entry.columns.append(model_field.attname)
            if leaf is None:
                entry.fields = None
            elif entry.fields is not None:
                entry.fields.add(leaf.attname)
            readers.append((key, (model_field.attname, target, rest)))
        else:
            raise NotLean(key)
    # Whether a related model is read as values() is known once every field is seen.
    readers = [
        (key, _related(*reader, related[reader[1]].fields is not None, fields[key]))
        if isinstance(reader, tuple)
        else (key, reader)
        for key, reader in readers
    ]
    return Plan(serializer_class, list(columns), related, readers)


def _model_field(model, name: str):
    try:
        return model._meta.get_field(name)
    except FieldDoesNotExist:
        return None
