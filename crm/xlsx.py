"""A one-sheet XLSX workbook written as it streams: what the exports need, no more.

The exports wrote their workbooks with XlsxWriter (constant-memory mode), the
faster of the two libraries compared (docs/benchmarks.md); its per-cell work
(a method call, a format lookup and an XML element built for each value) still
made an XLSX export 27 times slower than PostgreSQL's COPY of the same rows.
Our workbooks are always the same shape: one sheet of typed columns, a bold
frozen header, column widths, an autofilter and four number formats. Written
directly, each row is one string built from one precomputed function per
column, about nine times faster (bench/run.py measures the three writers side by
side).

Text is written inline (no shared-strings table to hold in memory), so memory
stays flat whatever the number of rows. Text must already be rid of the
control characters XML cannot hold (``crm.api.export.neutralize`` does it).
tests/test_xlsx.py reads every kind of cell back with openpyxl.
"""

import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterable
from datetime import date, datetime
from enum import Enum
from xml.sax.saxutils import escape, quoteattr

ROWS_PER_WRITE = 1000
MAX_SHEET_NAME = 31  # Excel's limit.
# Day 0 of Excel's calendar, as every spreadsheet program reads it after 1900-03-01.
EPOCH = date(1899, 12, 30)
EPOCH_MOMENT = datetime(1899, 12, 30)
SECONDS_PER_DAY = 86400

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELATIONSHIPS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PACKAGE_RELATIONSHIPS = "http://schemas.openxmlformats.org/package/2006/relationships"
HEADER = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'


class Cell(Enum):
    TEXT = "text"
    NUMBER = "number"
    BOOLEAN = "boolean"
    DATE = "date"  # A date, shown dd/mm/yyyy.
    MOMENT = "moment"  # A naive local datetime, shown dd/mm/yyyy hh:mm.


# Cell styles (the workbook's cellXfs), by position: 0 plain, 1 bold header,
# 2 date, 3 moment; then one per number format that the columns ask for.
PLAIN, BOLD, DAY, MOMENT = 0, 1, 2, 3
FIXED_FORMATS = {DAY: "dd/mm/yyyy", MOMENT: "dd/mm/yyyy hh:mm"}
FIRST_CUSTOM_FORMAT = 164  # Format ids below are Excel's built-in ones.


def column_letters(index: int) -> str:
    """Return the letters of the 0-based column ``index``: 0 is A, 26 is AA."""
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def _cell_writer(cell: Cell, letters: str, style: int) -> Callable[[object, int], str]:
    """Return a function of (value, row number) giving the cell's XML."""
    styled = f' s="{style}"' if style else ""
    if cell is Cell.TEXT:
        return lambda value, row: (
            f'<c r="{letters}{row}" t="inlineStr"{styled}>'
            f'<is><t xml:space="preserve">{escape(value)}</t></is></c>'
        )
    if cell is Cell.NUMBER:
        return lambda value, row: f'<c r="{letters}{row}"{styled}><v>{value!r}</v></c>'
    if cell is Cell.BOOLEAN:
        return lambda value, row: f'<c r="{letters}{row}" t="b"><v>{int(value)}</v></c>'
    if cell is Cell.DATE:
        return lambda value, row: (
            f'<c r="{letters}{row}" s="{DAY}"><v>{(value - EPOCH).days}</v></c>'
        )
    if cell is Cell.MOMENT:
        return lambda value, row: (
            f'<c r="{letters}{row}" s="{MOMENT}">'
            f"<v>{(value - EPOCH_MOMENT).total_seconds() / SECONDS_PER_DAY!r}</v></c>"
        )
    raise ValueError(f"Unknown cell kind {cell!r}")


def sheet_name(title: str) -> str:
    """Return ``title`` as Excel accepts a sheet name: 31 characters, none of []:*?/\\."""
    name = "".join(" " if c in "[]:*?/\\" else c for c in title)[:MAX_SHEET_NAME].strip()
    return name or "Export"


def write_workbook(
    file,
    *,
    title: str,
    headers: list[str],
    cells: list[Cell],
    widths: list[float],
    rows: Iterable[list],
    number_formats: list[str | None] | None = None,
    max_width: float | None = None,
) -> int:
    """Write one sheet of ``rows`` under ``headers`` to ``file``; return the rows written.

    ``cells`` gives each column's kind, ``widths`` its width in characters and
    ``number_formats`` (for NUMBER columns) an optional format such as
    ``"#,##0.00"``. A value of None leaves its cell empty.

    With ``max_width``, each TEXT column is widened to its longest value
    written (+2), up to ``max_width``; ``widths`` are then the least widths.
    The widths (``<cols>``) must come before the rows (``<sheetData>``) in the
    sheet, and are known only once every row is written: the rows go first to
    a temporary file (compressed as the sheet is, so it costs no more disk),
    then the sheet is assembled from its start, that file and its end. Memory
    stays flat; the price is reading the rows' XML once more from disk.
    """
    formats = number_formats or [None] * len(headers)
    custom = sorted({f for f in formats if f})
    styles = {fmt: MOMENT + 1 + n for n, fmt in enumerate(custom)}
    letters = [column_letters(index) for index in range(len(headers))]
    writers = [
        _cell_writer(cell, letters[index], styles.get(formats[index], PLAIN))
        for index, cell in enumerate(cells)
    ]
    name = sheet_name(title)
    widths = list(widths)
    fitted = [n for n, cell in enumerate(cells) if cell is Cell.TEXT] if max_width else []
    longest = [0] * len(headers)
    with tempfile.TemporaryFile() as spool:
        with (
            zipfile.ZipFile(spool, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as rows_zip,
            rows_zip.open("rows", "w", force_zip64=True) as data,
        ):
            count = _write_rows(data, rows, writers, fitted, longest)
        for index in fitted:
            widths[index] = min(max(widths[index], longest[index] + 2), max_width)
        last = f"{letters[-1]}{count + 1}"
        with zipfile.ZipFile(file, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
            with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
                sheet.write(_sheet_start(headers, widths, letters).encode())
                spool.seek(0)
                with zipfile.ZipFile(spool) as rows_zip, rows_zip.open("rows") as data:
                    shutil.copyfileobj(data, sheet, 1 << 16)
                sheet.write(f'</sheetData><autoFilter ref="A1:{last}"/></worksheet>'.encode())
            archive.writestr("[Content_Types].xml", CONTENT_TYPES)
            archive.writestr("_rels/.rels", PACKAGE_RELS)
            archive.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
            archive.writestr(
                "xl/workbook.xml", _workbook(name, f"$A$1:${letters[-1]}${count + 1}")
            )
            archive.writestr("xl/styles.xml", _styles(custom))
    return count


def _write_rows(data, rows: Iterable[list], writers, fitted: list[int], longest: list[int]) -> int:
    """Write the rows' XML to ``data``; keep in ``longest`` each fitted column's longest text."""
    count = 0
    block: list[str] = []
    for count, row in enumerate(rows, start=1):
        number = count + 1
        for index in fitted:
            value = row[index]
            if value is not None and len(value) > longest[index]:
                longest[index] = len(value)
        block.append(
            f'<row r="{number}">'
            + "".join(
                [
                    write(value, number)
                    for write, value in zip(writers, row, strict=True)
                    if value is not None
                ]
            )
            + "</row>"
        )
        if len(block) == ROWS_PER_WRITE:
            data.write("".join(block).encode())
            block = []
    data.write("".join(block).encode())
    return count


def _sheet_start(headers: list[str], widths: list[float], letters: list[str]) -> str:
    columns = "".join(
        f'<col min="{n}" max="{n}" width="{width:g}" customWidth="1"/>'
        for n, width in enumerate(widths, start=1)
    )
    header = "".join(
        f'<c r="{letters[index]}1" t="inlineStr" s="{BOLD}">'
        f'<is><t xml:space="preserve">{escape(text)}</t></is></c>'
        for index, text in enumerate(headers)
    )
    return (
        f'{HEADER}<worksheet xmlns="{MAIN}" xmlns:r="{RELATIONSHIPS}">'
        '<sheetViews><sheetView workbookViewId="0">'
        '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
        '<selection pane="bottomLeft"/></sheetView></sheetViews>'
        '<sheetFormatPr defaultRowHeight="15"/>'
        f"<cols>{columns}</cols>"
        f'<sheetData><row r="1">{header}</row>'
    )


def _workbook(name: str, filtered: str) -> str:
    quoted = "'" + name.replace("'", "''") + "'"
    return (
        f'{HEADER}<workbook xmlns="{MAIN}" xmlns:r="{RELATIONSHIPS}">'
        f'<sheets><sheet name={quoteattr(name)} sheetId="1" r:id="rId1"/></sheets>'
        # The autofilter's range, as spreadsheet programs expect it named.
        '<definedNames><definedName name="_xlnm._FilterDatabase" localSheetId="0" hidden="1">'
        f"{escape(quoted)}!{filtered}</definedName></definedNames></workbook>"
    )


def _styles(custom: list[str]) -> str:
    formats = {**FIXED_FORMATS, **{MOMENT + 1 + n: fmt for n, fmt in enumerate(custom)}}
    format_ids = {style: FIRST_CUSTOM_FORMAT + n for n, style in enumerate(formats)}
    number_formats = "".join(
        f'<numFmt numFmtId="{format_ids[style]}" formatCode={quoteattr(fmt)}/>'
        for style, fmt in formats.items()
    )
    plain = '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    bold = '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    numbered = "".join(
        f'<xf numFmtId="{format_ids[style]}" fontId="0" fillId="0" borderId="0" xfId="0" '
        'applyNumberFormat="1"/>'
        for style in formats
    )
    return (
        f'{HEADER}<styleSheet xmlns="{MAIN}">'
        f'<numFmts count="{len(formats)}">{number_formats}</numFmts>'
        '<fonts count="2"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
        '<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>'
        '<fills count="2"><fill><patternFill patternType="none"/></fill>'
        '<fill><patternFill patternType="gray125"/></fill></fills>'
        '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>'
        "</cellStyleXfs>"
        f'<cellXfs count="{2 + len(formats)}">{plain}{bold}{numbered}</cellXfs>'
        '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
        "</styleSheet>"
    )


CONTENT_TYPES = (
    f"{HEADER}"
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" '
    'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/styles.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
    "</Types>"
)
PACKAGE_RELS = (
    f'{HEADER}<Relationships xmlns="{PACKAGE_RELATIONSHIPS}">'
    f'<Relationship Id="rId1" Type="{RELATIONSHIPS}/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>"
)
WORKBOOK_RELS = (
    f'{HEADER}<Relationships xmlns="{PACKAGE_RELATIONSHIPS}">'
    f'<Relationship Id="rId1" Type="{RELATIONSHIPS}/worksheet" Target="worksheets/sheet1.xml"/>'
    f'<Relationship Id="rId2" Type="{RELATIONSHIPS}/styles" Target="styles.xml"/>'
    "</Relationships>"
)
