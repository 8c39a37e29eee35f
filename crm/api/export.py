"""Every list as a spreadsheet: streamed CSV and XLSX with all matching rows.

Both walk the filtered queryset with ``iterator(chunk_size=…)``, so memory does
not grow with the number of rows: related rows come from ``select_related`` and
per-chunk prefetches, never one query per row. Columns are the serializer's
fields, headed by their labels in the request's language.
"""

import csv
import re
import tempfile
from collections.abc import Iterator
from datetime import date, datetime

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


def _rows(queryset, serializer: serializers.Serializer, columns) -> Iterator[list]:
    for instance in queryset.iterator(chunk_size=CHUNK_SIZE):
        data = serializer.to_representation(instance)
        yield [_typed(field, instance, data.get(name)) for name, field in columns]


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
