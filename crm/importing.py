"""Import organisations and people (with their affiliations) from CSV or XLSX.

One file is one transaction: every row is checked, every error is reported
with its row number (the header is row 1, as spreadsheet programs count), and
if there is any error nothing is saved. Rows match existing records by natural
key (``slug``), so importing the same file again creates nothing new.

Used by the admin (upload, preview as a dry run, confirm) and by the
``import_contacts`` command, which streams large files with a progress bar.
Written here rather than with django-import-export, whose results are per row
and whose datasets are loaded whole into memory: the all-or-nothing rule and
streaming are simpler to hold in one small module.
"""

import csv
import functools
import io
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import islice
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.validators import (
    MaxLengthValidator,
    ProhibitNullCharactersValidator,
    URLValidator,
)
from django.db import DatabaseError, connections, models, router, transaction
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from crm.models import Affiliation, Organization, Person

ORGANIZATIONS, PEOPLE = "organizations", "people"

ORGANIZATION_COLUMNS = [
    "slug",
    "name",
    "short_name",
    "kind",
    "country",
    "city",
    "website",
    "description",
    "is_identified",
    "needs_verification",
    "verification_note",
]
PERSON_COLUMNS = ["slug", "given_name", "family_name", "email", "phone", "preferred_language"]
PERSON_COLUMNS += ["notes"]
AFFILIATION_COLUMNS = ["organization", "title", "start_on", "end_on", "is_primary"]
COLUMNS = {
    ORGANIZATIONS: ORGANIZATION_COLUMNS,
    PEOPLE: PERSON_COLUMNS + AFFILIATION_COLUMNS,
}
BOOLEAN_COLUMNS = {"is_identified", "needs_verification", "is_primary"}
DATE_COLUMNS = {"start_on", "end_on"}
TRUE = {"1", "true", "yes", "y", "oui", "vrai", "x"}
FALSE = {"0", "false", "no", "n", "non", "faux"}
PREVIEW_ROWS = 100
# Rows checked and written together: a few statements per chunk, not per row.
CHUNK_ROWS = 2000

# Hostile files. The admin's uploads are at most 20 MB (crm/admin/contact_import.py)
# and ADMIN_MAX_ROWS rows; the import_contacts command takes up to MAX_ROWS.
MAX_ROWS = 1_000_000
ADMIN_MAX_ROWS = 10_000
MAX_COLUMNS = 50
# A cell longer than this is an error (the longest text a person writes in a
# description); a message quotes at most EXCERPT_CHARS of any value.
MAX_CELL_CHARS = 10_000
EXCERPT_CHARS = 40
# An XLSX is a zip of XML files. Before openpyxl reads one, every entry's
# declared size (which zipfile enforces while inflating) and compression ratio
# are checked: a sheet is streamed, but the shared strings and styles are held
# in memory whole. With these limits a preview stays under 200 MB of Python
# memory for any file (docs/performance.md, "Hostile files").
MAX_SHEET_BYTES = 64 * 1024 * 1024
MAX_OTHER_ENTRY_BYTES = 16 * 1024 * 1024
MAX_RATIO = 100


class ImportFileError(Exception):
    """The file cannot be read at all (format, header)."""


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


@dataclass
class ImportResult:
    kind: str
    dry_run: bool
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    affiliations_created: int = 0
    affiliations_updated: int = 0
    errors: list[RowError] = field(default_factory=list)
    # (row number, action, natural key) of the first rows, for the admin's preview.
    preview: list[tuple[int, str, str]] = field(default_factory=list)

    @property
    def saved(self) -> bool:
        return not self.errors and not self.dry_run


# Reading.


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def _unreadable(error: Exception) -> ImportFileError:
    """Return the ImportFileError telling the user why ``error`` stops the file."""
    if isinstance(error, UnicodeDecodeError):
        # What French Excel writes by default ("CSV (séparateur : point-virgule)")
        # is Windows-1252, not UTF-8.
        return ImportFileError(
            _("The file is not in UTF-8. Save the file as “CSV UTF-8” and upload it again.")
        )
    if isinstance(error, csv.Error):
        return ImportFileError(
            _("This is not a readable CSV file (%(error)s).") % {"error": error}
        )
    return ImportFileError(_("This is not a readable XLSX file."))


# What a file that is not what its name says raises, at once or while its rows
# are read (a CSV is decoded, and an XLSX unzipped, lazily).
UNREADABLE = (UnicodeDecodeError, csv.Error, zipfile.BadZipFile, InvalidFileException)


_DIMENSION_RE = re.compile(
    rb"<(?:\w+:)?dimension\s+ref=\"([A-Z]+)([0-9]+)(?::([A-Z]+)([0-9]+))?\""
)


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + letter - ord("A") + 1
    return number


def check_xlsx(file, *, max_rows: int) -> int | None:
    """Refuse an XLSX bomb before openpyxl reads it; return the sheet's declared rows.

    Checks every zip entry's size and compression ratio, and each sheet's
    declared dimensions (``<dimension ref="A1:K20001"/>``, when present).
    Reads only the zip's directory and the start of each sheet; ``file`` is
    left at its start.
    """
    declared = None
    try:
        with zipfile.ZipFile(file) as archive:
            for info in archive.infolist():
                sheet = info.filename.startswith("xl/worksheets/")
                limit = MAX_SHEET_BYTES if sheet else MAX_OTHER_ENTRY_BYTES
                ratio = info.file_size / max(info.compress_size, 1)
                if info.file_size > limit or (info.file_size > 1024 * 1024 and ratio > MAX_RATIO):
                    raise ImportFileError(
                        _(
                            "This XLSX file unpacks to far more than it weighs "
                            "(%(entry)s: %(size)d MB, %(ratio)d times its packed size): "
                            "it is refused. Save it again from your spreadsheet program, "
                            "or as CSV."
                        )
                        % {
                            "entry": _excerpt(info.filename),
                            "size": info.file_size // (1024 * 1024),
                            "ratio": ratio,
                        }
                    )
                if sheet and info.filename.endswith(".xml"):
                    with archive.open(info) as stream:
                        head = stream.read(4096)
                    match = _DIMENSION_RE.search(head)
                    if match:
                        rows = int(match.group(4) or match.group(2))
                        columns = _column_number(match.group(3) or match.group(1))
                        _check_size(rows, columns, max_rows=max_rows)
                        declared = max(declared or 0, rows)
                    else:
                        # No declared size: openpyxl would parse the whole sheet
                        # to find it; counting its rows at inflating speed is
                        # a hundred times faster.
                        _check_size(_count_rows(archive, info), 0, max_rows=max_rows)
    except zipfile.BadZipFile as error:
        raise ImportFileError(_("This is not a readable XLSX file.")) from error
    finally:
        file.seek(0)
    return declared


def _count_rows(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> int:
    """Count the ``<row`` elements of a sheet, streaming it (blank rows count)."""
    rows = 0
    tail = b""
    with archive.open(info) as stream:
        while block := stream.read(1024 * 1024):
            data = tail + block
            rows += data.count(b"<row") + data.count(b":row ") + data.count(b":row>")
            # An element name cut by the block's end is counted in the next
            # one; three bytes cannot hold a whole one, so none is counted twice.
            tail = data[-3:]
    return rows


def _check_size(rows: int, columns: int, *, max_rows: int) -> None:
    if rows > max_rows + 1:  # Row 1 names the columns.
        raise ImportFileError(too_many_rows(max_rows))
    if columns > MAX_COLUMNS:
        raise ImportFileError(
            _("The sheet has %(columns)d columns; an import has at most %(limit)d.")
            % {"columns": columns, "limit": MAX_COLUMNS}
        )


def too_many_rows(max_rows: int) -> str:
    if max_rows < MAX_ROWS:
        return _(
            "The file has more than %(rows)s rows: import it with the import_contacts "
            "command (see the README)."
        ) % {"rows": f"{max_rows:,}"}
    return _("The file has more than %(rows)s rows: split it.") % {"rows": f"{max_rows:,}"}


def read_rows(
    file, filename: str, *, max_rows: int = MAX_ROWS
) -> tuple[list[str], Iterator[tuple[int, dict[str, str]]]]:
    """Return the header and an iterator of (row number, values), read lazily.

    Raise ImportFileError, also while iterating, when the file cannot be read,
    is a bomb, or has more than ``max_rows`` rows after the header (blank rows
    count: a file of millions of blank rows is refused as soon as that many
    were read).
    """
    suffix = Path(filename).suffix.lower()
    try:
        if suffix == ".csv":
            text = io.TextIOWrapper(file, encoding="utf-8-sig", newline="")
            reader = csv.reader(text)
            header_row = next(reader, None)
            rows = (values for values in reader)
        elif suffix == ".xlsx":
            check_xlsx(file, max_rows=max_rows)
            try:
                workbook = load_workbook(file, read_only=True, data_only=True)
            except Exception as error:  # openpyxl raises many kinds on a bad file.
                raise ImportFileError(_("This is not a readable XLSX file.")) from error
            sheet = workbook.worksheets[0]
            # Never trust nor compute the sheet's size: without a declared one,
            # openpyxl would read the whole sheet once just to find it.
            sheet.reset_dimensions()
            iterator = sheet.iter_rows(values_only=True)
            header_row = next(iterator, None)
            rows = (values for values in iterator)
        else:
            raise ImportFileError(_("Give a .csv or .xlsx file."))
    except UNREADABLE as error:
        raise _unreadable(error) from error
    if not header_row:
        raise ImportFileError(_("The file is empty: row 1 must name the columns."))
    if len(header_row) > MAX_COLUMNS:
        _check_size(0, len(header_row), max_rows=max_rows)
    headers = [_cell_text(value).lower() for value in header_row]

    def numbered() -> Iterator[tuple[int, dict[str, str]]]:
        try:
            for number, values in enumerate(rows, start=2):
                if number > max_rows + 1:
                    raise ImportFileError(too_many_rows(max_rows))
                cells = [_cell_text(value) for value in values]
                if not any(cells):
                    continue  # Blank lines, common at the end of spreadsheets.
                yield number, dict(zip(headers, cells, strict=False))
        except UNREADABLE as error:
            raise _unreadable(error) from error

    return headers, numbered()


def count_rows(path: Path) -> int | None:
    """Return how many data rows a file holds, for a progress bar (cheaply).

    Raise ImportFileError when an XLSX file is unreadable or a bomb.
    """
    if path.suffix.lower() == ".csv":
        with path.open("rb") as file:
            return max(sum(1 for _line in file) - 1, 0)
    if path.suffix.lower() == ".xlsx":
        with path.open("rb") as file:
            declared = check_xlsx(file, max_rows=MAX_ROWS)
        return None if declared is None else max(declared - 1, 0)
    return None


def detect_kind(headers: list[str]) -> str:
    names = set(headers)
    if {"given_name", "family_name"} <= names:
        return PEOPLE
    if {"name", "kind"} <= names:
        return ORGANIZATIONS
    raise ImportFileError(
        _(
            "Row 1 must name the columns: given_name and family_name for people, "
            "name and kind for organisations."
        )
    )


def _check_headers(headers: list[str], kind: str) -> None:
    if "slug" not in headers:
        raise ImportFileError(_("Row 1 has no “slug” column: each row needs its key."))
    unknown = [name for name in headers if name and name not in COLUMNS[kind]]
    if unknown:
        raise ImportFileError(
            _("Unknown columns in row 1: %(names)s. Known columns: %(known)s.")
            % {"names": ", ".join(unknown), "known": ", ".join(COLUMNS[kind])}
        )
    duplicates = {name for name in headers if name and headers.count(name) > 1}
    if duplicates:
        raise ImportFileError(
            _("Columns named twice in row 1: %(names)s.") % {"names": ", ".join(duplicates)}
        )


# Converting and saving one row.


def _boolean(column: str, text: str) -> bool:
    if text.lower() in TRUE:
        return True
    if text.lower() in FALSE:
        return False
    raise ValidationError({column: _("Give true or false (also yes/no, oui/non, 1/0).")})


def _date(column: str, text: str) -> date | None:
    if not text:
        return None
    try:
        value = parse_date(text)
    except ValueError:
        value = None
    if value is None:
        raise ValidationError({column: _("Give a date as YYYY-MM-DD.")})
    return value


def _apply(instance, values: dict[str, str], columns: list[str], errors: dict) -> bool:
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
                value = _boolean(column, text)
            except ValidationError as error:
                errors.update(error.message_dict)
                continue
        else:
            value = text
        if getattr(instance, column) != value:
            setattr(instance, column, value)
            changed = True
    return changed


def _excerpt(value: str) -> str:
    """At most EXCERPT_CHARS characters of ``value``, for a message quoting it."""
    value = str(value)
    return value if len(value) <= EXCERPT_CHARS else value[: EXCERPT_CHARS - 1] + "…"


def _row_errors(number: int, error: ValidationError) -> list[RowError]:
    """One RowError per message; a value a message quotes is cut to an excerpt."""

    def texts(item: ValidationError) -> list[str]:
        out = []
        for one in item.error_list:
            message = one.message
            if one.params:
                params = {
                    key: _excerpt(value) if isinstance(value, str) else value
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


def _rule_message(model, name: str) -> str:
    """The model's own message for its constraint ``name`` (what full_clean would say)."""
    for constraint in model._meta.constraints:
        if constraint.name == name:
            return constraint.get_violation_error_message()
    raise LookupError(name)


# One path: a chunk of rows is checked in Python against what a few queries
# read (the records its keys name, the e-mails it uses, the organisations and
# roles it refers to), then written in a few statements: COPY on PostgreSQL,
# bulk INSERTs elsewhere, with their history rows. The database's constraints
# remain the last guard: if a write still fails (a rule only it checks, a
# concurrent change), the chunk is split in halves until the failing row is
# found and named; the other rows are written all the same, so that every
# mistake of the file is reported at once.


@dataclass
class _Row:
    number: int
    slug: str
    action: str  # created, updated or unchanged
    instance: object = None  # to create or update
    affiliation_action: str | None = None
    affiliation: Affiliation | None = None


@dataclass
class _Chunk:
    """What the chunk's rows refer to, read in a few queries."""

    existing: dict
    owners: dict[str, str]  # lower-case e-mail -> slug of the person who has it
    organizations: dict
    held: dict[int, list[Affiliation]]

    @classmethod
    def read(cls, kind: str, chunk) -> "_Chunk":
        model = Organization if kind == ORGANIZATIONS else Person
        slugs = [values.get("slug", "") for _number, values in chunk]
        existing = model.objects.in_bulk([slug for slug in slugs if slug], field_name="slug")
        owners: dict[str, str] = {}
        organizations: dict = {}
        held: dict[int, list[Affiliation]] = {}
        if kind == PEOPLE:
            emails = {values["email"].lower() for _n, values in chunk if values.get("email")}
            if emails:
                owners = dict(
                    Person.objects.annotate(lower_email=Lower("email"))
                    .filter(lower_email__in=emails)
                    .values_list("lower_email", "slug")
                )
            wanted = {values.get("organization") for _n, values in chunk} - {"", None}
            if wanted:
                organizations = Organization.objects.in_bulk(wanted, field_name="slug")
            if existing:
                people = [person.pk for person in existing.values()]
                for affiliation in Affiliation.objects.filter(person__in=people).order_by("pk"):
                    held.setdefault(affiliation.person_id, []).append(affiliation)
        return cls(existing, owners, organizations, held)


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


def _check(instance, errors: dict, exclude: tuple[str, ...] = ()) -> None:
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
            # quotes can be cut to an excerpt (_row_errors).
            errors.setdefault(model_field.name, []).extend(error.error_list)
    if type(instance).clean is not models.Model.clean:
        try:
            instance.clean()
        except ValidationError as error:
            for column, items in error.update_error_dict({}).items():
                errors.setdefault(column, []).extend(items)
    if errors:
        raise ValidationError(errors)


def _plan_affiliation(person, values, chunk: _Chunk) -> tuple[str | None, Affiliation | None]:
    slug = values.get("organization", "")
    if not slug:
        if any(values.get(column) for column in AFFILIATION_COLUMNS):
            raise ValidationError({"organization": _("Give the organisation's slug.")})
        return None, None
    organization = chunk.organizations.get(slug)
    if organization is None:
        raise ValidationError(
            {
                "organization": _("No organisation has the slug “%(slug)s”.")
                % {"slug": _excerpt(slug)}
            }
        )
    title = values.get("title", "")
    start_on = _date("start_on", values.get("start_on", ""))
    end_on = _date("end_on", values.get("end_on", ""))
    primary = _boolean("is_primary", values["is_primary"]) if values.get("is_primary") else None
    held = chunk.held.get(person.pk, []) if person.pk else []
    same = [a for a in held if a.organization_id == organization.pk and a.title == title]
    # The natural key first; else the active role of that title (one at most).
    affiliation = next((a for a in same if a.start_on == start_on), None) or next(
        (a for a in same if a.end_on is None), None
    )
    action = "updated"
    if affiliation is None:
        affiliation = Affiliation(person=person, organization=organization, title=title)
        action = "created"
    changed = False
    for column, value in (("start_on", start_on), ("end_on", end_on)):
        if (values.get(column) or action == "created") and getattr(affiliation, column) != value:
            setattr(affiliation, column, value)
            changed = True
    if primary is not None and affiliation.is_primary != primary:
        affiliation.is_primary = primary
        changed = True
    if action == "updated" and not changed:
        return "unchanged", affiliation
    # The person may be created by this very row: it has no id yet.
    _check(affiliation, {}, exclude=("person", "organization"))
    if affiliation.start_on and affiliation.end_on and affiliation.end_on < affiliation.start_on:
        raise ValidationError(_rule_message(Affiliation, "crm_affiliation_end_on_after_start_on"))
    if affiliation.end_on is None:
        for other in held:
            if other is affiliation or other.end_on is not None:
                continue
            if other.organization_id == organization.pk and other.title == title:
                rule = "crm_affiliation_one_active_per_role"
                raise ValidationError(_rule_message(Affiliation, rule))
            if other.is_primary and affiliation.is_primary:
                rule = "crm_affiliation_one_primary_per_person"
                raise ValidationError(_rule_message(Affiliation, rule))
    return action, affiliation


def _broken_rule(kind: str, instance, chunk: _Chunk) -> str | None:
    """The name of a constraint the record would break, checked here to name it per row.

    The database checks them all again on write (crm_organization_*, crm_person_*).
    """
    if kind == ORGANIZATIONS:
        if instance.needs_verification and not instance.verification_note:
            return "crm_organization_verification_has_note"
        return None
    email = instance.email.lower()
    if email and chunk.owners.get(email, instance.slug) != instance.slug:
        return "crm_person_email_unique"
    return None


def _plan_row(kind: str, number: int, values: dict[str, str], chunk: _Chunk, seen) -> _Row:
    """Check one row against the chunk's lookups; raise ValidationError naming its fields."""
    model, columns = (
        (Organization, ORGANIZATION_COLUMNS) if kind == ORGANIZATIONS else (Person, PERSON_COLUMNS)
    )
    errors: dict = {}
    for column, text in values.items():
        if "\x00" in text:
            errors[column] = [_("This cell holds a NUL character; remove it.")]
        elif len(text) > MAX_CELL_CHARS:
            errors[column] = [
                _("This cell holds %(length)d characters (at most %(limit)d): “%(start)s”.")
                % {"length": len(text), "limit": MAX_CELL_CHARS, "start": _excerpt(text)}
            ]
    if errors:
        raise ValidationError(errors)
    slug = values.get("slug", "")
    if not slug:
        raise ValidationError({"slug": _("Give the record's key (slug).")})
    first = seen.setdefault(slug, number)
    if first != number:
        raise ValidationError(
            {
                "slug": _("The key “%(slug)s” is already in row %(row)d of this file.")
                % {"slug": _excerpt(slug), "row": first}
            }
        )
    instance = chunk.existing.get(slug)
    action = "updated"
    if instance is None:
        instance = model(slug=slug)
        action = "created"
    old_email = getattr(instance, "email", "")
    changed = _apply(instance, values, columns, errors)
    row = _Row(number, slug, action)
    if action == "created" or changed or errors:
        _check(instance, errors)
        broken = _broken_rule(kind, instance, chunk)
        if broken is not None:
            raise ValidationError(_rule_message(model, broken))
        row.instance = instance
    else:
        row.action = "unchanged"
    if kind == PEOPLE:
        row.affiliation_action, row.affiliation = _plan_affiliation(instance, values, chunk)
        if row.affiliation_action == "updated" and row.action == "unchanged":
            row.action = "updated"
        # Later rows see this row's e-mail as taken.
        if old_email and chunk.owners.get(old_email.lower()) == slug:
            del chunk.owners[old_email.lower()]
        if instance.email:
            chunk.owners[instance.email.lower()] = slug
    return row


# Writing.


@functools.cache
def _history_columns(history_model) -> list[str]:
    return [f.attname for f in history_model._meta.concrete_fields if f.attname != "history_id"]


def _history_row(history_model, instance, *, history_type: str, by, now) -> dict:
    """The history row simple_history would write for ``instance`` (its state now)."""
    row = {name: getattr(instance, name, None) for name in _history_columns(history_model)}
    row.update(
        history_date=now,
        history_change_reason=None,
        history_type=history_type,
        history_user_id=by.pk if by is not None else None,
    )
    return row


def _insert(model, rows: list[dict]) -> None:
    """Insert rows (dicts of column attributes): COPY on PostgreSQL, bulk INSERT elsewhere."""
    if not rows:
        return
    connection = connections[router.db_for_write(model)]
    if connection.vendor != "postgresql":
        model._base_manager.bulk_create([model(**row) for row in rows], batch_size=500)
        return
    names = list(rows[0])
    column_of = {f.attname: f.column for f in model._meta.concrete_fields}
    columns = ", ".join(connection.ops.quote_name(column_of[name]) for name in names)
    sql = f"COPY {connection.ops.quote_name(model._meta.db_table)} ({columns}) FROM STDIN"
    # Django turns psycopg's errors into its own (IntegrityError…) for its own
    # statements; COPY goes to psycopg's cursor directly.
    with (
        connection.wrap_database_errors,
        connection.cursor() as cursor,
        cursor.cursor.copy(sql) as copy,
    ):
        for row in rows:
            copy.write_row([row[name] for name in names])


def _new_ids(model, count: int) -> list[int]:
    """Take ``count`` ids from the table's sequence (PostgreSQL), for rows COPY will insert."""
    connection = connections[router.db_for_write(model)]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [model._meta.db_table, model._meta.pk.column, count],
        )
        return [row[0] for row in cursor.fetchall()]


def _create(model, instances: list, *, by, now) -> None:
    """Create ``instances`` and their "+" history rows."""
    if not instances:
        return
    connection = connections[router.db_for_write(model)]
    for instance in instances:
        for model_field in model._meta.concrete_fields:
            if getattr(model_field, "auto_now", False) or getattr(
                model_field, "auto_now_add", False
            ):
                setattr(instance, model_field.attname, now)
    if connection.vendor == "postgresql":
        for instance, pk in zip(instances, _new_ids(model, len(instances)), strict=True):
            instance.pk = pk
        _insert(
            model,
            [
                {f.attname: getattr(instance, f.attname) for f in model._meta.concrete_fields}
                for instance in instances
            ],
        )
    else:
        model._base_manager.bulk_create(instances, batch_size=500)
    history = model.history.model
    _insert(
        history,
        [
            _history_row(history, instance, history_type="+", by=by, now=now)
            for instance in instances
        ],
    )


def _update(model, instances: list, fields: list[str], *, by, now) -> None:
    """Save ``fields`` of ``instances`` and their "~" history rows."""
    if not instances:
        return
    if any(f.name == "updated_at" for f in model._meta.concrete_fields):
        for instance in instances:
            instance.updated_at = now
        fields = [*fields, "updated_at"]
    model._base_manager.bulk_update(instances, fields, batch_size=500)
    history = model.history.model
    _insert(
        history,
        [
            _history_row(history, instance, history_type="~", by=by, now=now)
            for instance in instances
        ],
    )


def _write(kind: str, rows: list[_Row], *, by) -> None:
    now = timezone.now()
    model, columns = (
        (Organization, ORGANIZATION_COLUMNS) if kind == ORGANIZATIONS else (Person, PERSON_COLUMNS)
    )
    records = [row for row in rows if row.instance is not None]
    _create(model, [r.instance for r in records if r.action == "created"], by=by, now=now)
    _update(
        model, [r.instance for r in records if r.action == "updated"], columns[1:], by=by, now=now
    )
    if kind == PEOPLE:
        new = [r.affiliation for r in rows if r.affiliation_action == "created"]
        for affiliation in new:
            affiliation.person_id = affiliation.person.pk
        _create(Affiliation, new, by=by, now=now)
        changed = [r.affiliation for r in rows if r.affiliation_action == "updated"]
        _update(Affiliation, changed, ["start_on", "end_on", "is_primary"], by=by, now=now)


def _database_message(error: DatabaseError) -> str:
    first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return _("The database refused this row: %(reason)s") % {"reason": first_line[:300]}


def _write_naming_failures(kind: str, rows: list[_Row], result: ImportResult, *, by) -> None:
    """Write ``rows``; if the database refuses, halve until the refused rows are named."""
    if not rows:
        return
    try:
        with transaction.atomic():  # A savepoint: a refused write undoes only itself.
            _write(kind, rows, by=by)
    except DatabaseError as error:
        if len(rows) == 1:
            result.errors.append(RowError(rows[0].number, "", _database_message(error)))
            return
        middle = len(rows) // 2
        _write_naming_failures(kind, rows[:middle], result, by=by)
        _write_naming_failures(kind, rows[middle:], result, by=by)
        return
    for row in rows:
        if row.affiliation_action in ("created", "updated"):
            name = f"affiliations_{row.affiliation_action}"
            setattr(result, name, getattr(result, name) + 1)
        setattr(result, row.action, getattr(result, row.action) + 1)
        if len(result.preview) < PREVIEW_ROWS:
            result.preview.append((row.number, row.action, row.slug))


def _import_chunk(kind: str, chunk, result: ImportResult, seen: dict, *, by) -> None:
    lookups = _Chunk.read(kind, chunk)
    planned = []
    for number, values in chunk:
        result.rows += 1
        try:
            planned.append(_plan_row(kind, number, values, lookups, seen))
        except ValidationError as error:
            result.errors.extend(_row_errors(number, error))
    _write_naming_failures(kind, planned, result, by=by)
    # The preview lists rows in file order even when a half was retried.
    result.preview.sort()


def _kind_label(kind: str) -> str:
    return _("organisations") if kind == ORGANIZATIONS else _("people")


def import_contacts(
    file,
    *,
    filename: str,
    dry_run: bool,
    by=None,
    expect: str | None = None,
    progress: Callable[[int], None] | None = None,
    max_rows: int = MAX_ROWS,
) -> ImportResult:
    """Import an organisations or people file; save nothing unless every row is right.

    ``file`` is a binary file object. ``expect`` (ORGANIZATIONS or PEOPLE)
    refuses a file of the other kind. ``progress`` is called with each row
    number. Raises ImportFileError when the file itself cannot be read, is a
    bomb, or holds more than ``max_rows`` rows.
    """
    headers, rows = read_rows(file, filename, max_rows=max_rows)
    kind = detect_kind(headers)
    if expect and kind != expect:
        raise ImportFileError(
            _("This file holds %(found)s, not %(expected)s.")
            % {"found": _kind_label(kind), "expected": _kind_label(expect)}
        )
    _check_headers(headers, kind)
    result = ImportResult(kind=kind, dry_run=dry_run)
    seen: dict[str, int] = {}  # slug -> first row: a key twice in one file is refused.
    with transaction.atomic():
        while chunk := list(islice(rows, CHUNK_ROWS)):
            _import_chunk(kind, chunk, result, seen, by=by)
            if progress is not None:
                for number, _values in chunk:
                    progress(number)
        if result.errors or dry_run:
            transaction.set_rollback(True)
    return result
