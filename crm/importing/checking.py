"""Checking one row's values as the models would, and naming each error by row and column.

A row's text is converted (booleans, dates) and set on its record, then every
field is checked as ``full_clean()`` would, at the cost of a few comparisons for
the common value (``check_fields``). Each error becomes a RowError, so that the
user sees every mistake of the file at once.
"""

import functools
import re
from dataclasses import dataclass
from datetime import date, datetime

from django.core.exceptions import ValidationError
from django.core.validators import (
    MaxLengthValidator,
    ProhibitNullCharactersValidator,
    URLValidator,
)
from django.db import models
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _

from crm.importing.base import BOOLEAN_COLUMNS, excerpt

TRUE = {"1", "true", "yes", "y", "oui", "vrai", "x"}
FALSE = {"0", "false", "no", "n", "non", "faux"}
# A cell longer than this is an error (the longest text a person writes in a
# description).
MAX_CELL_CHARS = 10_000


@dataclass
class RowError:
    row: int
    column: str
    message: str

    def __str__(self) -> str:
        where = _("row %(row)d") % {"row": self.row}
        if self.column:
            where += f", {self.column}"
        return f"{where}: {self.message}"


def check_cells(values: dict[str, str]) -> None:
    """Refuse a row holding a NUL character or a cell over MAX_CELL_CHARS, naming each cell."""
    errors: dict = {}
    for column, text in values.items():
        if "\x00" in text:
            errors[column] = [_("This cell holds a NUL character; remove it.")]
        elif len(text) > MAX_CELL_CHARS:
            errors[column] = [
                _("This cell holds %(length)d characters (at most %(limit)d): “%(start)s”.")
                % {"length": len(text), "limit": MAX_CELL_CHARS, "start": excerpt(text)}
            ]
    if errors:
        raise ValidationError(errors)


def to_boolean(column: str, text: str) -> bool:
    if text.lower() in TRUE:
        return True
    if text.lower() in FALSE:
        return False
    raise ValidationError({column: _("Give true or false (also yes/no, oui/non, 1/0).")})


def to_date(column: str, text: str) -> date | None:
    if not text:
        return None
    try:
        value = parse_date(text)
    except ValueError:
        value = None
    if value is None:
        raise ValidationError({column: _("Give a date as YYYY-MM-DD.")})
    return value


def apply_values(instance, values: dict[str, str], columns: list[str], errors: dict) -> bool:
    """Set the given columns on ``instance``; return whether anything changed.

    A value that cannot be converted goes to ``errors`` (by column) and leaves the
    field as it was, so that the model's own checks still run on the others.
    """
    changed = False
    for column in columns:
        if column == "slug" or column not in values:
            continue
        text = values[column]
        if column in BOOLEAN_COLUMNS:
            if text == "":
                continue  # Empty: keep the current value (or the default).
            try:
                value = to_boolean(column, text)
            except ValidationError as error:
                errors.update(error.message_dict)
                continue
        else:
            value = text
        if getattr(instance, column) != value:
            setattr(instance, column, value)
            changed = True
    return changed


def row_errors(number: int, error: ValidationError) -> list[RowError]:
    """One RowError per message; a value a message quotes is cut to an excerpt."""

    def texts(item: ValidationError) -> list[str]:
        out = []
        for one in item.error_list:
            message = one.message
            if one.params:
                params = {
                    key: excerpt(value) if isinstance(value, str) else value
                    for key, value in one.params.items()
                }
                message = message % params
            out.append(str(message))
        return out

    if hasattr(error, "error_dict"):
        return [
            RowError(number, "" if column == "__all__" else column, message)
            for column, items in error.error_dict.items()
            for item in items
            for message in texts(item)
        ]
    return [RowError(number, "", message) for message in texts(error)]


def rule_message(model, name: str) -> str:
    """The model's own message for its constraint ``name`` (what full_clean would say)."""
    for constraint in model._meta.constraints:
        if constraint.name == name:
            return constraint.get_violation_error_message()
    raise LookupError(name)


# Web addresses as most are written, a strict subset of what URLValidator
# accepts (its host, domain and path rules, narrowed to ASCII): these pass at
# the cost of one match; any other goes through URLValidator itself.
_PLAIN_URL_RE = re.compile(
    r"https?://(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}(?:/[a-z0-9._~/-]*)?",
    re.IGNORECASE,
)


def _plain_url_first(validator: URLValidator):
    def validate(value: str) -> None:
        if len(value) > 2048 or not _PLAIN_URL_RE.fullmatch(value):
            validator(value)

    return validate


@functools.cache
def _field_checks(model) -> list[tuple]:
    """Per field of ``model``: what a value needs to pass ``Field.clean()`` for sure.

    (field, type, choices or None, max length or None, the other validators).
    A value that fails any of these goes through ``Field.clean()`` itself, for
    Django's own message; a value that passes is what ``clean()`` accepts.
    """
    kinds = (
        (models.BooleanField, bool),
        (models.DateTimeField, datetime),
        (models.DateField, date),
        (models.CharField, str),
        (models.TextField, str),
    )
    checks = []
    for model_field in model._meta.fields:
        if model_field.generated:
            continue
        kind = next((k for base, k in kinds if isinstance(model_field, base)), None)
        others = [
            _plain_url_first(validator) if isinstance(validator, URLValidator) else validator
            for validator in model_field.validators
            if not isinstance(validator, (MaxLengthValidator, ProhibitNullCharactersValidator))
        ]
        choices = (
            frozenset(value for value, _label in model_field.flatchoices)
            if model_field.choices
            else None
        )
        checks.append((model_field, kind, choices, model_field.max_length, others))
    return checks


def _plainly_valid(raw, kind, choices, max_length, others) -> bool:
    if kind is None or not isinstance(raw, kind):
        return False  # A relation, a number or a value still to convert: no shortcut.
    if (choices is not None and raw not in choices) or (
        max_length is not None and len(raw) > max_length
    ):
        return False
    try:
        for validator in others:
            validator(raw)
    except ValidationError:
        return False
    return True


def check_fields(instance, errors: dict, exclude: tuple[str, ...] = ()) -> None:
    """Raise every field error of ``instance``, as ``full_clean()`` would find them.

    The constraints are checked by the caller. A value is first checked by what
    its field needs (type, choices, length, validators); only a doubtful one
    goes through ``Field.clean()``, which gives Django's own messages: the
    common case costs a few comparisons, not Django's generic machinery.
    """
    skip = {*errors, *exclude}
    for model_field, kind, choices, max_length, others in _field_checks(type(instance)):
        if model_field.name in skip:
            continue
        raw = getattr(instance, model_field.attname)
        if raw in model_field.empty_values:
            if model_field.blank:
                continue
        elif _plainly_valid(raw, kind, choices, max_length, others):
            continue
        try:
            setattr(instance, model_field.attname, model_field.clean(raw, instance))
        except ValidationError as error:
            # Kept apart (message and parameters), so that the value a message
            # quotes can be cut to an excerpt (row_errors).
            errors.setdefault(model_field.name, []).extend(error.error_list)
    if type(instance).clean is not models.Model.clean:
        try:
            instance.clean()
        except ValidationError as error:
            for column, items in error.update_error_dict({}).items():
                errors.setdefault(column, []).extend(items)
    if errors:
        raise ValidationError(errors)
