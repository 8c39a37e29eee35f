"""Reading an import file, row by row, and refusing the files that cannot be read.

CSV and XLSX are read lazily, one row at a time, so that the command can stream
a million rows. A hostile file (an XLSX bomb, too many rows or columns, a file
that is not what its name says) raises ImportFileError before it costs memory.
"""

import csv
import io
import re
import zipfile
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

from django.utils.formats import number_format
from django.utils.translation import gettext as _
from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from crm.importing.base import COLUMNS, ORGANIZATIONS, PEOPLE, excerpt
from crm.importing.checking import MAX_CELL_CHARS

# Hostile files. The admin's uploads are at most 20 MB (crm/admin/contact_import.py)
# and ADMIN_MAX_ROWS rows; the import_contacts command takes up to MAX_ROWS.
MAX_ROWS = 1_000_000
ADMIN_MAX_ROWS = 10_000
MAX_COLUMNS = 50
# A CSV row (a record, which may span lines inside quotes) is read at most this
# many characters at a time: its cells at their longest, their quotes and
# commas. Without it the csv module reads a record whole, however long: a 100 MB
# single-line file took the import to 850 MB of memory (issue 17).
MAX_ROW_CHARS = MAX_COLUMNS * (MAX_CELL_CHARS + 3)
# An XLSX is a zip of XML files. Before openpyxl reads one, every entry's
# declared size (which zipfile enforces while inflating) and compression ratio
# are checked: a sheet is streamed, but the shared strings and styles are held
# in memory whole. With these limits a preview stays under 200 MB of Python
# memory for any file (docs/performance.md, "Hostile files").
MAX_SHEET_BYTES = 64 * 1024 * 1024
MAX_OTHER_ENTRY_BYTES = 16 * 1024 * 1024
MAX_RATIO = 100
# What a 64 MB sheet holds: about 80,000 rows with every organisation column
# filled (bench/import_memory.py writes the largest such sheet and measures its
# import); the command reads a million rows only from CSV.
SHEET_ROWS_ABOUT = 80_000


class ImportFileError(Exception):
    """The file cannot be read at all (format, header)."""


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


def grouped(number: int) -> str:
    """``number`` with its thousands grouped as the reader's language groups them."""
    return number_format(number, force_grouping=True)


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
                bomb = info.file_size > 1024 * 1024 and ratio > MAX_RATIO
                if info.file_size > limit and not bomb:
                    raise ImportFileError(
                        _(
                            "This XLSX file is too large to import: %(entry)s unpacks to "
                            "%(size)d MB, and an import reads at most %(limit)d MB of it "
                            "(a sheet of about %(rows)s rows with every column filled). Save "
                            "it as “CSV UTF-8” and import that: a CSV file may hold up to "
                            "%(max)s rows."
                        )
                        % {
                            "entry": excerpt(info.filename),
                            "size": info.file_size // (1024 * 1024),
                            "limit": limit // (1024 * 1024),
                            "rows": grouped(SHEET_ROWS_ABOUT),
                            "max": grouped(MAX_ROWS),
                        }
                    )
                if bomb:
                    raise ImportFileError(
                        _(
                            "This XLSX file unpacks to far more than it weighs "
                            "(%(entry)s: %(size)d MB, %(ratio)d times its packed size): "
                            "it is refused. Save it again from your spreadsheet program, "
                            "or as CSV."
                        )
                        % {
                            "entry": excerpt(info.filename),
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


def _csv_records(text) -> Iterator[list[str]]:
    """Yield the records of a CSV text, refusing one too long as soon as it is.

    The csv module pulls lines from ``lines()`` only until a record is
    complete, so the characters counted there are those of the current record.
    """
    record = 1  # Row numbers as spreadsheets count them: the header is row 1.
    pending = 0  # Characters read of the current record.

    def lines() -> Iterator[str]:
        nonlocal pending
        # readline() with a limit never holds more than the record may have.
        while line := text.readline(MAX_ROW_CHARS - pending + 1):
            pending += len(line)
            if pending > MAX_ROW_CHARS:
                raise ImportFileError(
                    _(
                        "Row %(row)d is longer than %(limit)s characters: a row holds at "
                        "most %(columns)d cells of %(cell)s characters."
                    )
                    % {
                        "row": record,
                        "limit": grouped(MAX_ROW_CHARS),
                        "columns": MAX_COLUMNS,
                        "cell": grouped(MAX_CELL_CHARS),
                    }
                )
            yield line

    for values in csv.reader(lines()):
        yield values
        record += 1
        pending = 0


def too_many_rows(max_rows: int) -> str:
    if max_rows < MAX_ROWS:
        return _(
            "The file has more than %(rows)s rows: import it from the Import page of the "
            "organisations or people list, which takes files of any size."
        ) % {"rows": grouped(max_rows)}
    return _("The file has more than %(rows)s rows: split it.") % {"rows": grouped(max_rows)}


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
            records = _csv_records(text)
            header_row = next(records, None)
            rows = records
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
                # Empty cells past the last column are common (a spreadsheet's
                # formatting); a value there is not.
                if len(values) > MAX_COLUMNS and any(
                    value not in (None, "") for value in values[MAX_COLUMNS:]
                ):
                    raise ImportFileError(
                        _("Row %(row)d has %(columns)d columns; an import has at most %(limit)d.")
                        % {"row": number, "columns": len(values), "limit": MAX_COLUMNS}
                    )
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
    with path.open("rb") as file:
        return count_rows_in(file, path.name)


def count_rows_in(file, filename: str) -> int | None:
    """Return how many data rows the binary ``file`` named ``filename`` holds; None if unknown.

    A CSV's lines are counted; an XLSX's rows are those its sheet declares
    (None when it declares none). The file is read from where it is: rewind it
    before reading its rows.
    """
    suffix = Path(filename).suffix.lower()
    if suffix == ".csv":
        # Newlines counted block by block: iterating lines would hold a long
        # line whole (a 100 MB line took the command to 290 MB before a row was read).
        lines, last = 0, b"\n"
        while block := file.read(1024 * 1024):
            lines += block.count(b"\n")
            last = block[-1:]
        lines += last != b"\n"  # A last line without its newline.
        return max(lines - 1, 0)
    if suffix == ".xlsx":
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


def check_headers(headers: list[str], kind: str) -> None:
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
