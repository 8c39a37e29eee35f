"""Every list as a spreadsheet: streamed CSV and a constant-memory XLSX, all matching rows.

Each resource declares its columns once (``crm/api/exporters.py``, as pretix's
exporters do): a header, a database expression and a kind. The filtered
queryset of the list is annotated with those expressions and read as tuples;
nothing goes through the serializer, and no Python object is made per cell.

Two ways to the same CSV bytes:

- on PostgreSQL, ``COPY (SELECT <formatting> FROM (<the queryset's own SQL>)) TO
  STDOUT``: labels in the request's language (a ``CASE`` over the choices), local
  times (``AT TIME ZONE``) and formula neutralisation are computed by the
  database, and its output is streamed as it comes;
- elsewhere (SQLite), the same queryset's rows formatted in Python.

``tests/test_api_export.py`` compares the two byte for byte for every list, in
French and English. The XLSX is written row by row by ``crm.xlsx`` (nine times
faster than XlsxWriter's constant-memory mode, itself faster than openpyxl's
write-only mode: see docs/benchmarks.md), to a temporary file, then sent.

``csv_response()`` and ``xlsx_response()`` are the entry points; each response
carries ``row_count``: at once for XLSX, when the body has been sent for CSV
(it is streamed).
"""

import csv
import re
import tempfile
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import Enum
from urllib.parse import quote

from django.db import connections, models
from django.db.models import F
from django.http import FileResponse, StreamingHttpResponse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.text import capfirst
from django.utils.translation import get_language, gettext

from crm import clock, xlsx

# Rows fetched at a time by the Python path's server-side cursor.
CHUNK_SIZE = 2000
CSV_MEDIA_TYPE = "text/csv"
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMATS = ("csv", "xlsx")


@dataclass(frozen=True)
class CSVStyle:
    """How a CSV separates its cells and writes a decimal number.

    The API's files keep the machine's convention (",", "1234.50"), whatever
    the language; the staff pages write what the reader's spreadsheet program
    opens directly: in French ";" and "1234,50", as Excel set to French expects.
    """

    delimiter: str = ","
    decimal: str = "."


MACHINE_CSV = CSVStyle()
FRENCH_CSV = CSVStyle(delimiter=";", decimal=",")


def csv_style_for(language: str | None = None) -> CSVStyle:
    """Return the CSV style of ``language`` (the active one by default)."""
    language = (language or get_language() or "en").split("-")[0]
    return FRENCH_CSV if language == "fr" else MACHINE_CSV


class Kind(Enum):
    TEXT = "text"
    INTEGER = "integer"
    BOOLEAN = "boolean"
    DATE = "date"
    MOMENT = "moment"  # A datetime, shown in the unit's local time.
    LABEL = "label"  # The label of a choice, in the request's language.
    # An exact amount: plain digits in CSV (never a float's), a number in XLSX.
    DECIMAL = "decimal"


@dataclass(frozen=True)
class Column:
    """One column of an export: its header, what the database computes, and its kind.

    ``value`` is a values path (``"project__name"``) or an expression, or a
    function of the export's context (``today``) returning one. ``choices``
    (LABEL only) is the model field whose choices name the values. ``places``
    (DECIMAL only) rounds half up to that many decimal places, as a DRF
    ``DecimalField(rounding=ROUND_HALF_UP)`` does; None keeps the value's own.
    """

    header: str | Promise
    value: str | models.Expression | Callable[[dict], models.Expression]
    kind: Kind = Kind.TEXT
    choices: tuple[tuple[str, str | Promise], ...] = ()
    width: int | None = None
    places: int | None = None

    def expression(self, context: dict) -> models.Expression:
        value = self.value
        if callable(value) and not isinstance(value, models.Expression):
            value = value(context)
        return F(value) if isinstance(value, str) else value


# Formula neutralisation, the same rule in Python and in SQL.
#
# A cell starting with one of these is run as a formula by spreadsheet programs.
FORMULA_STARTS = ("=", "@", "\t", "\r")
# "+" and "-" start a formula too (OWASP's ``-2+3+cmd|' /C calc'!A0``); only a
# value that is wholly a number or a phone number ("-12", "+228 90 00 00 00")
# is kept as is. ASCII digits and spaces only, so that PostgreSQL's regular
# expression below says exactly the same.
PLAIN_NUMBER_RE = re.compile(r"[+-]?[0-9 \t\n\r\f\v().]+")
# Control characters that XML (and so XLSX) cannot hold; NUL never reaches
# PostgreSQL text.
CONTROL_CHARACTERS_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
# Deleted by translate(), much cheaper than a regular expression per cell.
_CONTROL_CHARACTERS = "".join(chr(n) for n in (*range(1, 9), 11, 12, *range(14, 32)))
_SQL_PLAIN_NUMBER = r"^[+-]?[0-9 \t\n\r\f\v().]+$"


def neutralize(value: str) -> str:
    """Return ``value`` safe in a spreadsheet cell: no formula, no control characters.

    User text such as ``=HYPERLINK(…)`` would otherwise run when the file is
    opened; a leading apostrophe makes it plain text, as spreadsheet programs do.
    """
    value = CONTROL_CHARACTERS_RE.sub("", value)
    if value.startswith(FORMULA_STARTS) or (
        value[:1] in ("+", "-") and not PLAIN_NUMBER_RE.fullmatch(value)
    ):
        return "'" + value
    return value


def _sql_neutralized(sql: str) -> str:
    """SQL giving ``neutralize()`` of a text already rid of its control characters.

    Empty and missing are one empty CSV cell, as Python's csv module writes
    both (COPY would quote an empty string). The regular expression runs only
    on the rare value starting with a sign.
    """
    return (
        f"NULLIF(CASE WHEN left({sql}, 1) IN ('=', '@', E'\\t', E'\\r') THEN '''' || {sql} "
        f"WHEN left({sql}, 1) IN ('+', '-') AND {sql} !~ '{_SQL_PLAIN_NUMBER}' "
        f"THEN '''' || {sql} ELSE {sql} END, '')"
    )


# Reading the rows.


@dataclass
class Export:
    """An export of one queryset: its columns bound to the request's language and day."""

    queryset: models.QuerySet
    columns: list[Column]
    headers: list[str]
    labels: list[dict[str, str]]  # per column, value -> label (LABEL columns)
    timezone: object
    aliases: list[str]
    style: CSVStyle = MACHINE_CSV
    # How a boolean reads, in the request's language ("oui", "non").
    yes: str = "yes"
    no: str = "no"

    @classmethod
    def of(cls, queryset, columns: list[Column], style: CSVStyle = MACHINE_CSV) -> "Export":
        """Annotate ``queryset`` with the columns; call it with the request's language active."""
        context = {"today": clock.today()}
        aliases = [f"export_{n}" for n in range(len(columns))]
        annotated = (
            queryset.prefetch_related(None)
            .annotate(
                **{
                    alias: column.expression(context)
                    for alias, column in zip(aliases, columns, strict=True)
                }
            )
            .values_list(*aliases)
        )
        return cls(
            queryset=annotated,
            columns=columns,
            headers=[capfirst(str(column.header)) for column in columns],
            labels=[{value: str(label) for value, label in column.choices} for column in columns],
            timezone=timezone.get_current_timezone(),
            aliases=aliases,
            style=style,
            yes=gettext("yes"),
            no=gettext("no"),
        )

    def rows(self) -> Iterator[tuple]:
        return self.queryset.iterator(chunk_size=CHUNK_SIZE)

    @property
    def using(self) -> str:
        return self.queryset.db


def _csv_formatter(export: Export, index: int) -> Callable[[object], str]:
    """How the Python path writes a column's value; ``_sql_formatted`` says the same in SQL."""
    kind = export.columns[index].kind
    if kind is Kind.TEXT:
        return lambda value: "" if value is None else neutralize(str(value))
    if kind is Kind.LABEL:
        labels = export.labels[index]
        return lambda value: "" if value is None else neutralize(labels.get(value, value))
    if kind is Kind.INTEGER:
        return lambda value: "" if value is None else str(value)
    if kind is Kind.BOOLEAN:
        yes, no = export.yes, export.no
        return lambda value: "" if value is None else (yes if value else no)
    if kind is Kind.DATE:
        return lambda value: "" if value is None else value.isoformat()
    if kind is Kind.DECIMAL:
        round_ = _decimal_rounder(export.columns[index].places)
        if export.style.decimal != ".":
            point = export.style.decimal
            return lambda value: (
                "" if value is None else format(round_(value), "f").replace(".", point)
            )
        return lambda value: "" if value is None else format(round_(value), "f")
    tz = export.timezone
    return lambda value: (
        "" if value is None else timezone.localtime(value, tz).strftime("%Y-%m-%d %H:%M:%S")
    )


def _decimal_rounder(places: int | None) -> Callable[[Decimal], Decimal]:
    """Round half up to ``places`` (PostgreSQL's ``round(numeric, places)``), or keep."""
    if places is None:
        return lambda value: value
    quantum = Decimal(1).scaleb(-places)
    return lambda value: Decimal(value).quantize(quantum, rounding=ROUND_HALF_UP)


def _sql_formatted(export: Export, index: int, bind: Callable[[str, list], str]) -> tuple:
    """SQL formatting a column as ``_csv_formatter()`` does, in two steps.

    Returns two functions of a column's SQL: the first step reads the
    queryset's column, the second the first step's result, so that a text's
    control characters are deleted once and its first character then tested.
    Constants are bound by ``bind``.
    """
    kind = export.columns[index].kind

    def same(sql: str) -> str:
        return sql

    if kind in (Kind.TEXT, Kind.LABEL):
        labels = export.labels[index]
        controls = bind("%s", [_CONTROL_CHARACTERS])
        any_control = bind("%s", [f"[{_CONTROL_CHARACTERS}]"])

        def cleaned(value: str) -> str:
            # translate() is costly on every cell; a match finds the rare one
            # that needs it.
            return (
                f"CASE WHEN {value} ~ {any_control} THEN translate({value}, {controls}, '') "
                f"ELSE {value} END"
            )

        if kind is Kind.LABEL and labels:
            whens = " ".join(["WHEN %s THEN %s"] * len(labels))
            cases = bind(whens, [item for pair in labels.items() for item in pair])

            def first(sql: str) -> str:
                return cleaned(f"CASE {sql} {cases} ELSE {sql} END")
        else:

            def first(sql: str) -> str:
                return cleaned(f"({sql})::text")

        return first, _sql_neutralized
    if kind is Kind.INTEGER:
        return (lambda sql: f"({sql})::text"), same
    if kind is Kind.BOOLEAN:
        yes, no = bind("%s", [export.yes]), bind("%s", [export.no])
        return (lambda sql: f"CASE WHEN {sql} THEN {yes} WHEN NOT {sql} THEN {no} END"), same
    if kind is Kind.DATE:
        return (lambda sql: f"to_char({sql}, 'YYYY-MM-DD')"), same
    if kind is Kind.DECIMAL:
        places = export.columns[index].places
        if places is None:
            decimal = "(({sql})::numeric)::text"
        else:
            decimal = f"(round(({{sql}})::numeric, {int(places)}))::text"
        if export.style.decimal != ".":
            point = bind("%s", [export.style.decimal])
            decimal = f"replace({decimal}, '.', {point})"
        return (lambda sql: decimal.format(sql=sql)), same
    zone = bind("%s", [timezone.get_current_timezone_name()])
    return (lambda sql: f"to_char({sql} AT TIME ZONE {zone}, 'YYYY-MM-DD HH24:MI:SS')"), same


def copy_sql(export: Export) -> str:
    """The ``COPY … TO STDOUT`` of the export, its parameters bound (PostgreSQL only).

    The innermost query is the filtered queryset's own SQL, ordering included;
    the two outer SELECTs only format its columns, so PostgreSQL keeps that
    order. Constants (labels, the time zone) are bound by psycopg, never pasted.
    """
    connection = connections[export.using]
    with connection.cursor() as cursor:

        def bind(sql: str, params: list) -> str:
            # Bound now; a "%" inside a label must survive the final binding.
            return cursor.cursor.mogrify(sql, params).replace("%", "%%")

        steps = [_sql_formatted(export, n, bind) for n in range(len(export.columns))]
        first = ", ".join(
            f"{step(f'export.{alias}')} AS {alias}"
            for (step, _second), alias in zip(steps, export.aliases, strict=True)
        )
        second = ", ".join(
            step(f"cleaned.{alias}")
            for (_first, step), alias in zip(steps, export.aliases, strict=True)
        )
        inner, inner_params = export.queryset.query.sql_with_params()
        # OFFSET 0 keeps PostgreSQL from folding the first step into the
        # second, which would compute each translate() once per use, not once.
        select = (
            f"SELECT {second} FROM (SELECT {first} FROM ({inner}) AS export OFFSET 0) AS cleaned"
        )
        bound = cursor.cursor.mogrify(select, inner_params)
        delimiter = cursor.cursor.mogrify("%s", [export.style.delimiter])
    return f"COPY ({bound}) TO STDOUT WITH (FORMAT csv, DELIMITER {delimiter})"


def uses_copy(export: Export) -> bool:
    return connections[export.using].vendor == "postgresql"


class _Echo:
    """A file-like object whose write() hands back the line csv.writer made."""

    def write(self, value: str) -> str:
        return value


# Python's csv module quotes a value holding "\r" only when "\r" is in its line
# terminator, as COPY does: write with "\r\n", then end the line with "\n" as
# COPY does.
_WRITERS = {
    delimiter: csv.writer(_Echo(), lineterminator="\r\n", delimiter=delimiter)
    for delimiter in (",", ";")
}


def _csv_line(values: list[str], delimiter: str = ",") -> str:
    """One CSV line as PostgreSQL's COPY writes it: quotes when needed, "\\n" at the end."""
    return _WRITERS[delimiter].writerow(values)[:-2] + "\n"


def csv_lines_python(export: Export, counter: dict) -> Iterator[str]:
    """The Python path: the same rows, formatted as ``copy_sql()`` formats them."""
    formatters = [_csv_formatter(export, n) for n in range(len(export.columns))]
    delimiter = export.style.delimiter
    lines = []
    count = 0
    for row in export.rows():
        lines.append(
            _csv_line(
                [format_(value) for format_, value in zip(formatters, row, strict=True)],
                delimiter,
            )
        )
        count += 1
        if len(lines) == 500:
            yield "".join(lines)
            lines = []
    yield "".join(lines)
    counter["rows"] = count


def csv_bytes_copy(sql: str, using: str, counter: dict) -> Iterator[bytes]:
    """Stream COPY's output as PostgreSQL sends it."""
    connection = connections[using]
    with connection.wrap_database_errors, connection.cursor() as cursor:
        with cursor.cursor.copy(sql) as copy:
            for block in copy:
                yield bytes(block)
        counter["rows"] = cursor.cursor.rowcount


def _filename(basename, extension: str) -> str:
    return f"{basename}-{clock.today():%Y-%m-%d}.{extension}"


def content_disposition(filename: str) -> str:
    """Return an attachment's header: an ASCII ``filename`` and the exact ``filename*``.

    The name may be translated ("activités-…"): old programs read the ASCII
    fallback (accents dropped, anything but letters, digits, ".", "-" and "_"
    replaced), the others RFC 6266's UTF-8 ``filename*``. Neither can carry a
    quote, a semicolon or a line break into the header.
    """
    folded = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode()
    fallback = re.sub(r"[^A-Za-z0-9._-]+", "-", folded).strip("-.") or "export"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


class _RowCount:
    """``response.row_count``: None until a streamed body has been sent."""

    def __get__(self, response, owner=None):
        if response is None:
            return self
        return response._export_counter.get("rows")


class CSVResponse(StreamingHttpResponse):
    row_count = _RowCount()


def csv_response(
    queryset, columns: list[Column], basename, style: CSVStyle = MACHINE_CSV
) -> CSVResponse:
    """Stream ``queryset`` as CSV (UTF-8 with a BOM, which spreadsheet programs need).

    By COPY on PostgreSQL, else in Python; the same bytes either way. ``style``
    says the separator and decimal mark (the API's by default).
    """
    export = Export.of(queryset, columns, style)
    counter: dict = {}
    header = "\ufeff" + _csv_line(export.headers, style.delimiter)
    if uses_copy(export):
        # Built now, while the request's language and time zone are active.
        body = csv_bytes_copy(copy_sql(export), export.using, counter)
    else:
        body = csv_lines_python(export, counter)

    def content():
        yield header.encode()
        for part in body:
            yield part if isinstance(part, bytes) else part.encode()

    response = CSVResponse(content(), content_type=f"{CSV_MEDIA_TYPE}; charset=utf-8")
    response._export_counter = counter
    response["Content-Disposition"] = content_disposition(_filename(basename, "csv"))
    return response


# XLSX.

# Widths of the columns whose cells all have the same length; a text or a
# label column is fitted to its longest value (crm.xlsx.write_workbook).
_WIDTHS = {
    Kind.DECIMAL: 16,
    Kind.INTEGER: 10,
    Kind.DATE: 12,
    Kind.MOMENT: 17,
}
# No column wider than this (characters): a long description wraps past it.
MAX_WIDTH = 60


def typed_rows(export: Export) -> Iterator[list]:
    """Rows as cell values: dates and local naive moments typed, labels and text neutralised."""
    converters = []
    yes, no = export.yes, export.no
    for index, column in enumerate(export.columns):
        if column.kind is Kind.BOOLEAN:
            # "oui"/"non" as a person reads it, as in the CSV.
            converters.append(lambda value: None if value is None else (yes if value else no))
        elif column.kind is Kind.TEXT:
            converters.append(lambda value: neutralize(str(value)) if value else None)
        elif column.kind is Kind.LABEL:
            labels = export.labels[index]
            converters.append(
                lambda value, labels=labels: (
                    neutralize(labels.get(value, value)) if value else None
                )
            )
        elif column.kind is Kind.DECIMAL:
            round_ = _decimal_rounder(column.places)
            converters.append(
                lambda value, round_=round_: None if value is None else float(round_(value))
            )
        elif column.kind is Kind.MOMENT:
            tz = export.timezone
            converters.append(
                lambda value, tz=tz: (
                    None if value is None else timezone.localtime(value, tz).replace(tzinfo=None)
                )
            )
        else:
            converters.append(None)
    for row in export.rows():
        yield [
            value if convert is None else convert(value)
            for convert, value in zip(converters, row, strict=True)
        ]


# How each kind of column is written in a workbook.
_CELLS = {
    Kind.DATE: xlsx.Cell.DATE,
    Kind.MOMENT: xlsx.Cell.MOMENT,
    Kind.INTEGER: xlsx.Cell.NUMBER,
    Kind.DECIMAL: xlsx.Cell.NUMBER,
}


def workbook_layout(export: Export) -> dict:
    """Return the headers, cell kinds, least widths and number formats of the export's sheet.

    A text column's width is its header's here; the writer widens it to its
    longest value, up to ``MAX_WIDTH``.
    """
    widths, number_formats = [], []
    for index, column in enumerate(export.columns):
        width = column.width or _WIDTHS.get(column.kind, 0)
        widths.append(min(max(width, len(export.headers[index]) + 2), MAX_WIDTH))
        if column.kind is Kind.DECIMAL and column.places is not None:
            # Shown with the column's places (a double holds 15 significant digits).
            places = "." + "0" * column.places if column.places else ""
            number_formats.append(f"#,##0{places}")
        else:
            number_formats.append(None)
    return {
        "headers": export.headers,
        "cells": [_CELLS.get(column.kind, xlsx.Cell.TEXT) for column in export.columns],
        "widths": widths,
        "number_formats": number_formats,
        "max_width": MAX_WIDTH,
    }


def write_xlsx(export: Export, file, title: str) -> int:
    """Write the export to ``file`` as one sheet; return the number of rows.

    Frozen header, autofilter, column widths fitted to the header and the
    longest value written (text) or to the kind (numbers, dates); dates as
    dd/mm/yyyy, moments as dd/mm/yyyy hh:mm and amounts as numbers.
    """
    return xlsx.write_workbook(
        file, title=title, rows=typed_rows(export), **workbook_layout(export)
    )


class XLSXResponse(FileResponse):
    row_count: int


def xlsx_response(queryset, columns: list[Column], basename, title: str) -> XLSXResponse:
    """Write ``queryset`` to an XLSX workbook on disk, then send it; ``row_count`` is set."""
    export = Export.of(queryset, columns)
    # Closed (and so deleted) by FileResponse once sent.
    file = tempfile.TemporaryFile()  # noqa: SIM115
    rows = write_xlsx(export, file, title)
    file.seek(0)
    response = XLSXResponse(file, content_type=XLSX_MEDIA_TYPE)
    response["Content-Disposition"] = content_disposition(_filename(basename, "xlsx"))
    response.row_count = rows
    return response
