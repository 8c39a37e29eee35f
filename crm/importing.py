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
import io
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import islice
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

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
CHUNK_ROWS = 1000


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


def read_rows(file, filename: str) -> tuple[list[str], Iterator[tuple[int, dict[str, str]]]]:
    """Return the header and an iterator of (row number, values), read lazily.

    Raise ImportFileError, also while iterating, when the file cannot be read.
    """
    suffix = Path(filename).suffix.lower()
    try:
        if suffix == ".csv":
            text = io.TextIOWrapper(file, encoding="utf-8-sig", newline="")
            reader = csv.reader(text)
            header_row = next(reader, None)
            rows = (values for values in reader)
        elif suffix == ".xlsx":
            try:
                workbook = load_workbook(file, read_only=True, data_only=True)
            except Exception as error:  # openpyxl raises many kinds on a bad file.
                raise ImportFileError(_("This is not a readable XLSX file.")) from error
            iterator = workbook.worksheets[0].iter_rows(values_only=True)
            header_row = next(iterator, None)
            rows = (values for values in iterator)
        else:
            raise ImportFileError(_("Give a .csv or .xlsx file."))
    except UNREADABLE as error:
        raise _unreadable(error) from error
    if not header_row:
        raise ImportFileError(_("The file is empty: row 1 must name the columns."))
    headers = [_cell_text(value).lower() for value in header_row]

    def numbered() -> Iterator[tuple[int, dict[str, str]]]:
        try:
            for number, values in enumerate(rows, start=2):
                cells = [_cell_text(value) for value in values]
                if not any(cells):
                    continue  # Blank lines, common at the end of spreadsheets.
                yield number, dict(zip(headers, cells, strict=False))
        except UNREADABLE as error:
            raise _unreadable(error) from error

    return headers, numbered()


def count_rows(path: Path) -> int | None:
    """Return how many data rows a file holds, for a progress bar (cheaply).

    Raise ImportFileError when an XLSX file cannot be opened.
    """
    if path.suffix.lower() == ".csv":
        with path.open("rb") as file:
            return max(sum(1 for _line in file) - 1, 0)
    if path.suffix.lower() == ".xlsx":
        try:
            workbook = load_workbook(path, read_only=True)
        except Exception as error:  # openpyxl raises many kinds on a bad file.
            raise ImportFileError(_("This is not a readable XLSX file.")) from error
        return max((workbook.worksheets[0].max_row or 1) - 1, 0)
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


def _save(instance, *, by, fields: list[str], errors: dict | None = None) -> None:
    """Check ``instance`` against the model's rules, then save it; raise every error.

    An existing record is written only in ``fields`` (the columns the file
    gives), so that the import never writes back what it did not read.
    """
    errors = dict(errors or {})
    try:
        instance.full_clean(exclude=list(errors))
    except ValidationError as error:
        for column, messages in error.message_dict.items():
            errors.setdefault(column, []).extend(messages)
    if errors:
        raise ValidationError(errors)
    instance._history_user = by
    if instance._state.adding:
        instance.save()
    else:
        instance.save(update_fields=[*fields, "updated_at"])


def _upsert(model, values: dict[str, str], columns: list[str], *, by) -> tuple[object, str]:
    slug = values.get("slug", "")
    if not slug:
        raise ValidationError({"slug": _("Give the record's key (slug).")})
    instance = model.objects.filter(slug=slug).first()
    action = "updated"
    if instance is None:
        instance = model(slug=slug)
        action = "created"
    errors: dict = {}
    changed = _apply(instance, values, columns, errors)
    if action == "updated" and not changed and not errors:
        return instance, "unchanged"
    _save(instance, by=by, fields=[c for c in columns if c != "slug"], errors=errors)
    return instance, action


def _import_affiliation(person: Person, values: dict[str, str], *, by) -> str | None:
    slug = values.get("organization", "")
    if not slug:
        if any(values.get(column) for column in AFFILIATION_COLUMNS):
            raise ValidationError({"organization": _("Give the organisation's slug.")})
        return None
    organization = Organization.objects.filter(slug=slug).first()
    if organization is None:
        raise ValidationError(
            {"organization": _("No organisation has the slug “%(slug)s”.") % {"slug": slug}}
        )
    title = values.get("title", "")
    start_on = _date("start_on", values.get("start_on", ""))
    end_on = _date("end_on", values.get("end_on", ""))
    affiliations = Affiliation.objects.filter(
        person=person, organization=organization, title=title
    )
    # The natural key first; else the active role of that title (one at most).
    affiliation = (
        affiliations.filter(start_on=start_on).first()
        or affiliations.filter(end_on__isnull=True).first()
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
    if values.get("is_primary"):
        primary = _boolean("is_primary", values["is_primary"])
        if affiliation.is_primary != primary:
            affiliation.is_primary = primary
            changed = True
    if action == "updated" and not changed:
        return "unchanged"
    _save(affiliation, by=by, fields=["start_on", "end_on", "is_primary"])
    return action


def _import_row(kind: str, values: dict[str, str], result: ImportResult, *, by) -> str:
    if kind == ORGANIZATIONS:
        _organization, action = _upsert(Organization, values, ORGANIZATION_COLUMNS, by=by)
        return action
    person, action = _upsert(Person, values, PERSON_COLUMNS, by=by)
    affiliation = _import_affiliation(person, values, by=by)
    if affiliation == "created":
        result.affiliations_created += 1
    elif affiliation == "updated":
        result.affiliations_updated += 1
        if action == "unchanged":
            action = "updated"
    return action


def _row_errors(number: int, error: ValidationError) -> list[RowError]:
    if hasattr(error, "error_dict"):
        return [
            RowError(number, "" if column == "__all__" else column, message)
            for column, messages in error.message_dict.items()
            for message in messages
        ]
    return [RowError(number, "", message) for message in error.messages]


# The fast path: a chunk of rows checked in Python, written in a few statements.
#
# The row-by-row path above stays the reference. A chunk takes the fast path only
# when every row in it is plainly right; any doubt (an error to report, the same
# slug twice, a rule the chunk would break) sends the whole chunk row by row, so
# that errors, their messages and the order rows see each other's changes are
# exactly those of the reference. The database's constraints remain the last
# guard: if a bulk statement still fails, the chunk is run again row by row.


class _RowByRow(Exception):
    """This chunk goes row by row (an error to name, or a case left to that path)."""


def _check_fields(instance, exclude=()) -> None:
    try:
        instance.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)
    except ValidationError as error:
        raise _RowByRow from error


def _breaks_organization_rules(organization: Organization) -> bool:
    """crm_organization_verification_has_note (the kind is a field choice)."""
    return organization.needs_verification and not organization.verification_note


def _email_taken(owners: dict[str, str], email: str, slug: str) -> bool:
    """crm_person_email_unique, against the owners known for this chunk."""
    return bool(email) and owners.get(email.lower(), slug) != slug


def _breaks_affiliation_rules(affiliation: Affiliation, others: list[Affiliation]) -> bool:
    """The span and the two partial unique constraints of Affiliation."""
    if affiliation.start_on and affiliation.end_on and affiliation.end_on < affiliation.start_on:
        return True
    if affiliation.end_on is not None:
        return False
    for other in others:
        if other is affiliation or other.end_on is not None:
            continue
        if (
            other.organization_id == affiliation.organization_id
            and other.title == affiliation.title
        ):
            return True
        if other.is_primary and affiliation.is_primary:
            return True
    return False


def _plan_affiliation(person, values, organizations, held: list[Affiliation]):
    """Mirror _import_affiliation without queries; return (action, affiliation)."""
    slug = values.get("organization", "")
    if not slug:
        if any(values.get(column) for column in AFFILIATION_COLUMNS):
            raise _RowByRow
        return None, None
    organization = organizations.get(slug)
    if organization is None:
        raise _RowByRow
    title = values.get("title", "")
    try:
        start_on = _date("start_on", values.get("start_on", ""))
        end_on = _date("end_on", values.get("end_on", ""))
        primary = (
            _boolean("is_primary", values["is_primary"]) if values.get("is_primary") else None
        )
    except ValidationError as error:
        raise _RowByRow from error
    same = [a for a in held if a.organization_id == organization.pk and a.title == title]
    by_key = [a for a in same if a.start_on == start_on]
    active = [a for a in same if a.end_on is None]
    if len(by_key) > 1 or (not by_key and len(active) > 1):
        raise _RowByRow  # Which one the database would pick is its business.
    affiliation = by_key[0] if by_key else (active[0] if active else None)
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
    _check_fields(affiliation, exclude=["person", "organization"])
    if _breaks_affiliation_rules(affiliation, [*held, affiliation]):
        raise _RowByRow
    return action, affiliation


def _plan_chunk(kind: str, chunk: list[tuple[int, dict[str, str]]]) -> dict:
    """Check a chunk in Python with a few queries; raise _RowByRow at any doubt."""
    model, columns = (
        (Organization, ORGANIZATION_COLUMNS) if kind == ORGANIZATIONS else (Person, PERSON_COLUMNS)
    )
    slugs = [values.get("slug", "") for _number, values in chunk]
    if "" in slugs or len(set(slugs)) != len(slugs):
        raise _RowByRow
    existing = model.objects.in_bulk(slugs, field_name="slug")
    plan = {"rows": [], "create": [], "update": [], "affiliations": ([], [])}
    if kind == PEOPLE:
        emails = {values["email"].lower() for _n, values in chunk if values.get("email")}
        owners = (
            dict(
                Person.objects.annotate(lower_email=Lower("email"))
                .filter(lower_email__in=emails)
                .values_list("lower_email", "slug")
            )
            if emails
            else {}
        )
        wanted = {values.get("organization") for _n, values in chunk} - {"", None}
        organizations = Organization.objects.in_bulk(wanted, field_name="slug") if wanted else {}
        held: dict[int, list[Affiliation]] = {}
        if existing:
            people = [person.pk for person in existing.values()]
            for affiliation in Affiliation.objects.filter(person__in=people).order_by("pk"):
                held.setdefault(affiliation.person_id, []).append(affiliation)
    for number, values in chunk:
        slug = values["slug"]
        instance = existing.get(slug)
        action = "updated"
        if instance is None:
            instance = model(slug=slug)
            action = "created"
        old_email = getattr(instance, "email", "")
        errors: dict = {}
        changed = _apply(instance, values, columns, errors)
        if errors:
            raise _RowByRow
        if action == "created" or changed:
            _check_fields(instance)
            if kind == ORGANIZATIONS and _breaks_organization_rules(instance):
                raise _RowByRow
            if kind == PEOPLE:
                if _email_taken(owners, instance.email, slug):
                    raise _RowByRow
                if old_email and owners.get(old_email.lower()) == slug:
                    del owners[old_email.lower()]
                if instance.email:
                    owners[instance.email.lower()] = slug
            plan["create" if action == "created" else "update"].append(instance)
        else:
            action = "unchanged"
        affiliation_action = None
        if kind == PEOPLE:
            affiliation_action, affiliation = _plan_affiliation(
                instance, values, organizations, held.get(instance.pk, []) if instance.pk else []
            )
            if affiliation_action in ("created", "updated"):
                plan["affiliations"][affiliation_action == "updated"].append(affiliation)
                if affiliation_action == "updated" and action == "unchanged":
                    action = "updated"
        plan["rows"].append((number, action, affiliation_action, slug))
    plan["model"], plan["fields"] = model, [*columns[1:], "updated_at"]
    return plan


def _write(plan: dict, *, by) -> None:
    model = plan["model"]
    if plan["create"]:
        bulk_create_with_history(plan["create"], model, default_user=by)
    if plan["update"]:
        now = timezone.now()
        for instance in plan["update"]:
            instance.updated_at = now
        bulk_update_with_history(plan["update"], model, plan["fields"], default_user=by)
    new, changed = plan["affiliations"]
    if new:
        for affiliation in new:
            affiliation.person_id = affiliation.person.pk
        bulk_create_with_history(new, Affiliation, default_user=by)
    if changed:
        # updated_at too: a form opened before the import is then stale.
        now = timezone.now()
        for affiliation in changed:
            affiliation.updated_at = now
        fields = ["start_on", "end_on", "is_primary", "updated_at"]
        bulk_update_with_history(changed, Affiliation, fields, default_user=by)


def _import_chunk(kind, chunk, result: ImportResult, *, by) -> None:
    """Import a chunk in a few statements, else row by row (the reference path)."""
    try:
        plan = _plan_chunk(kind, chunk)
        with transaction.atomic():  # A savepoint: a failed bulk statement undoes the chunk.
            _write(plan, by=by)
    except (_RowByRow, DatabaseError):
        for number, values in chunk:
            _import_one(kind, number, values, result, by=by)
        return
    result.rows += len(chunk)
    for number, action, affiliation, slug in plan["rows"]:
        if affiliation in ("created", "updated"):
            name = f"affiliations_{affiliation}"
            setattr(result, name, getattr(result, name) + 1)
        setattr(result, action, getattr(result, action) + 1)
        if len(result.preview) < PREVIEW_ROWS:
            result.preview.append((number, action, slug))


def _import_one(kind, number, values, result: ImportResult, *, by) -> None:
    result.rows += 1
    try:
        # A savepoint per row: after a database error PostgreSQL refuses every
        # statement until a rollback, and later rows must still be checked so
        # that the user sees all mistakes at once.
        with transaction.atomic():
            action = _import_row(kind, values, result, by=by)
    except ValidationError as error:
        result.errors.extend(_row_errors(number, error))
    except (DatabaseError, ValueError) as error:
        result.errors.append(RowError(number, "", str(error)))
    else:
        setattr(result, action, getattr(result, action) + 1)
        if len(result.preview) < PREVIEW_ROWS:
            result.preview.append((number, action, values.get("slug", "")))


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
) -> ImportResult:
    """Import an organisations or people file; save nothing unless every row is right.

    ``file`` is a binary file object. ``expect`` (ORGANIZATIONS or PEOPLE)
    refuses a file of the other kind. ``progress`` is called with each row
    number. Raises ImportFileError when the file itself cannot be read.
    """
    headers, rows = read_rows(file, filename)
    kind = detect_kind(headers)
    if expect and kind != expect:
        raise ImportFileError(
            _("This file holds %(found)s, not %(expected)s.")
            % {"found": _kind_label(kind), "expected": _kind_label(expect)}
        )
    _check_headers(headers, kind)
    result = ImportResult(kind=kind, dry_run=dry_run)
    with transaction.atomic():
        while chunk := list(islice(rows, CHUNK_ROWS)):
            _import_chunk(kind, chunk, result, by=by)
            if progress is not None:
                for number, _values in chunk:
                    progress(number)
        if result.errors or dry_run:
            transaction.set_rollback(True)
    return result
