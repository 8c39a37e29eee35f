"""Import organisations and people (with their affiliations) from CSV or XLSX.

One file is one transaction: every row is checked, every error is reported
with its row number (the header is row 1, as spreadsheet programs count), and
if there is any error nothing is saved. Rows match existing records by natural
key (``slug``), so importing the same file again creates nothing new.

Used by the admin (upload, preview as a dry run, confirm) and by the
``import_contacts`` command, which streams large files with a progress bar.
Written here rather than with django-import-export, whose results are per row
and whose datasets are loaded whole into memory: the all-or-nothing rule and
streaming are simpler to hold in a few small modules, one per stage:

- ``reading``: reading CSV and XLSX row by row, refusing hostile files;
- ``checking``: converting and checking one row's values, naming each error;
- ``planning``: what each row of a chunk creates, updates or leaves alone;
- ``applying``: writing a chunk and its history rows in a few statements.

``base`` holds the kinds of file and their columns, which every stage reads.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import islice

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from crm.importing.applying import write_rows
from crm.importing.base import (
    AFFILIATION_COLUMNS,
    COLUMNS,
    ORGANIZATION_COLUMNS,
    ORGANIZATIONS,
    PEOPLE,
    PERSON_COLUMNS,
)
from crm.importing.checking import RowError, row_errors
from crm.importing.keys import FileKeys
from crm.importing.planning import Lookups, PlannedRow, plan_row
from crm.importing.reading import (
    ADMIN_MAX_ROWS,
    MAX_ROWS,
    ImportFileError,
    check_headers,
    check_xlsx,
    count_rows,
    count_rows_in,
    detect_kind,
    read_rows,
)

__all__ = [
    "ADMIN_MAX_ROWS",
    "AFFILIATION_COLUMNS",
    "COLUMNS",
    "MAX_ROWS",
    "ORGANIZATIONS",
    "ORGANIZATION_COLUMNS",
    "PEOPLE",
    "PERSON_COLUMNS",
    "ImportFileError",
    "ImportResult",
    "RowError",
    "check_xlsx",
    "count_rows",
    "count_rows_in",
    "detect_kind",
    "import_contacts",
    "read_rows",
]

PREVIEW_ROWS = 100
# A file of a million wrong rows has millions of errors: the first ones are
# kept (and shown), the rest only counted, so memory stays bounded.
ERRORS_KEPT = 1000
# Rows checked and written together: a few statements per chunk, not per row.
CHUNK_ROWS = 2000


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
    # The first ERRORS_KEPT errors, in file order, and how many there were.
    errors: list[RowError] = field(default_factory=list)
    error_count: int = 0
    # (row number, action, natural key) of the first rows, for the admin's preview.
    preview: list[tuple[int, str, str]] = field(default_factory=list)

    @property
    def saved(self) -> bool:
        return not self.error_count and not self.dry_run

    @property
    def errors_not_kept(self) -> int:
        return self.error_count - len(self.errors)

    def add_errors(self, errors: list[RowError]) -> None:
        self.error_count += len(errors)
        self.errors.extend(errors[: max(ERRORS_KEPT - len(self.errors), 0)])


# Told each row written: its number, its action (created, updated, unchanged), its key.
OnRow = Callable[[int, str, str], None]


def _count(result: ImportResult, written: list[PlannedRow], on_row: OnRow | None) -> None:
    """Add the rows written to the result's counts, and the first ones to its preview."""
    for row in written:
        if on_row is not None:
            on_row(row.number, row.action, row.slug)
        if row.affiliation_action in ("created", "updated"):
            name = f"affiliations_{row.affiliation_action}"
            setattr(result, name, getattr(result, name) + 1)
        setattr(result, row.action, getattr(result, row.action) + 1)
        if len(result.preview) < PREVIEW_ROWS:
            result.preview.append((row.number, row.action, row.slug))


def _import_chunk(
    kind: str, chunk, result: ImportResult, keys: FileKeys, *, by, on_row: OnRow | None
) -> None:
    lookups = Lookups.read(kind, chunk)
    first_rows = keys.first_rows((number, values.get("slug", "")) for number, values in chunk)
    planned = []
    errors = []
    for number, values in chunk:
        result.rows += 1
        try:
            planned.append(plan_row(kind, number, values, lookups, first_rows))
        except ValidationError as error:
            errors.extend(row_errors(number, error))
    written, refused = write_rows(kind, planned, by=by)
    # Rows refused by the database come after the chunk's own, in file order.
    result.add_errors(sorted(errors + refused, key=lambda error: error.row))
    _count(result, written, on_row)
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
    on_row: OnRow | None = None,
) -> ImportResult:
    """Import an organisations or people file; save nothing unless every row is right.

    ``file`` is a binary file object. ``expect`` (ORGANIZATIONS or PEOPLE)
    refuses a file of the other kind. ``progress`` is called with each row
    number, ``on_row`` with each row written, in file order. Raises
    ImportFileError when the file itself cannot be read, is a bomb, or holds
    more than ``max_rows`` rows.
    """
    headers, rows = read_rows(file, filename, max_rows=max_rows)
    kind = detect_kind(headers)
    if expect and kind != expect:
        raise ImportFileError(
            _("This file holds %(found)s, not %(expected)s.")
            % {"found": _kind_label(kind), "expected": _kind_label(expect)}
        )
    check_headers(headers, kind)
    result = ImportResult(kind=kind, dry_run=dry_run)
    with transaction.atomic(), FileKeys() as keys:
        while chunk := list(islice(rows, CHUNK_ROWS)):
            _import_chunk(kind, chunk, result, keys, by=by, on_row=on_row)
            if progress is not None:
                for number, _values in chunk:
                    progress(number)
        if result.error_count or dry_run:
            transaction.set_rollback(True)
    return result
