"""The exports' workbook writer: every kind of cell reads back as written.

openpyxl (a separate implementation of the format) reads each workbook back.
"""

import io
import tracemalloc
import zipfile
from datetime import date, datetime

import openpyxl
import pytest

from crm import xlsx
from crm.xlsx import Cell

HEADERS = ["ID", "Title", "Amount", "Done", "Due", "Created", "Count"]
CELLS = [Cell.NUMBER, Cell.TEXT, Cell.NUMBER, Cell.BOOLEAN, Cell.DATE, Cell.MOMENT, Cell.NUMBER]
WIDTHS = [10, 40, 14, 8, 12, 18, 8]
FORMATS = [None, None, "#,##0.00", None, None, None, "#,##0"]


def workbook(rows, *, title="Follow-ups") -> tuple[bytes, int]:
    file = io.BytesIO()
    count = xlsx.write_workbook(
        file,
        title=title,
        headers=HEADERS,
        cells=CELLS,
        widths=WIDTHS,
        number_formats=FORMATS,
        rows=rows,
    )
    return file.getvalue(), count


def sheet_of(content: bytes):
    return openpyxl.load_workbook(io.BytesIO(content)).active


def test_every_kind_of_cell_reads_back_as_written():
    rows = [
        [1, "  Call <Visa> & \"Mastercard\" ", 1234.5, True, date(2023, 9, 28),
         datetime(2023, 9, 28, 14, 30), 7],
        [2, "Relance à l’équipe — été", None, False, None, None, 0],
    ]  # fmt: skip

    content, count = workbook(rows)

    sheet = sheet_of(content)
    assert count == 2
    assert [list(row) for row in sheet.iter_rows(values_only=True)] == [
        HEADERS,
        [1, '  Call <Visa> & "Mastercard" ', 1234.5, True, datetime(2023, 9, 28),
         datetime(2023, 9, 28, 14, 30), 7],
        [2, "Relance à l’équipe — été", None, False, None, None, 0],
    ]  # fmt: skip


def test_dates_moments_and_amounts_carry_their_formats():
    content, _count = workbook(
        [[1, "x", 10.0, True, date(2026, 1, 5), datetime(2026, 1, 5, 9, 0), 3]]
    )

    sheet = sheet_of(content)
    formats = [cell.number_format for cell in sheet[2]]
    assert formats[2] == "#,##0.00"
    assert formats[4] == "dd/mm/yyyy"
    assert formats[5] == "dd/mm/yyyy hh:mm"
    assert formats[6] == "#,##0"
    assert sheet["E2"].is_date and sheet["F2"].is_date


def test_the_header_is_bold_frozen_filtered_and_the_columns_sized():
    content, _count = workbook([[n, "x", None, None, None, None, None] for n in range(3)])

    sheet = sheet_of(content)
    assert all(cell.font.b for cell in sheet[1])
    assert not sheet["A2"].font.b
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:G4"
    assert sheet.column_dimensions["B"].width == 40
    assert sheet.title == "Follow-ups"


def test_an_empty_export_is_a_header_alone():
    content, count = workbook([])

    sheet = sheet_of(content)
    assert count == 0
    assert [list(row) for row in sheet.iter_rows(values_only=True)] == [HEADERS]
    assert sheet.auto_filter.ref == "A1:G1"


@pytest.mark.parametrize(
    ("title", "name"),
    [
        ("Suivis: juin/juillet [brouillon]?", "Suivis  juin juillet  brouillon"),
        ("x" * 40, "x" * 31),
        ("[]", "Export"),
        ("L'équipe", "L'équipe"),
    ],
)
def test_sheet_names_are_what_excel_accepts(title, name):
    content, _count = workbook([], title=title)

    assert sheet_of(content).title == name


def test_columns_past_z_are_lettered_as_spreadsheets_do():
    assert [xlsx.column_letters(n) for n in (0, 25, 26, 51, 52, 701, 702)] == [
        "A", "Z", "AA", "AZ", "BA", "ZZ", "AAA",
    ]  # fmt: skip


def test_the_package_holds_the_parts_spreadsheet_programs_look_for():
    content, _count = workbook([])

    names = set(zipfile.ZipFile(io.BytesIO(content)).namelist())
    assert names == {
        "[Content_Types].xml",
        "_rels/.rels",
        "xl/workbook.xml",
        "xl/_rels/workbook.xml.rels",
        "xl/styles.xml",
        "xl/worksheets/sheet1.xml",
    }


def test_memory_does_not_grow_with_the_rows(tmp_path):
    def peak(rows: int) -> int:
        data = ([n, f"Follow-up {n}", n / 3, n % 2 == 0, date(2026, 1, 1), None, n]
                for n in range(rows))  # fmt: skip
        tracemalloc.start()
        try:
            with (tmp_path / f"{rows}.xlsx").open("wb") as file:
                xlsx.write_workbook(
                    file, title="t", headers=HEADERS, cells=CELLS, widths=WIDTHS, rows=data
                )
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    assert peak(50_000) < 1.5 * peak(5_000)
