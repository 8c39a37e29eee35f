"""Renderers that make ``?format=csv`` and ``?format=xlsx`` known to DRF.

Lists answer these formats with all matching rows (``crm.api.export``), bypassing
these renderers; they render what else may come in that format, such as an error
(a 400 for a bad filter), as a small table.
"""

import csv
import io

from openpyxl import Workbook
from rest_framework import renderers

from crm.api import export


def _table(data) -> tuple[list[str], list[list]]:
    rows = data if isinstance(data, list) else [data]
    rows = [row if isinstance(row, dict) else {"detail": row} for row in rows]
    headers: list[str] = []
    for row in rows:
        headers.extend(key for key in row if key not in headers)
    return headers, [[_text(row.get(key)) for key in headers] for row in rows]


def _text(value) -> str:
    if isinstance(value, list):
        value = "; ".join(str(item) for item in value)
    return "" if value is None else export.neutralize(str(value))


class CSVRenderer(renderers.BaseRenderer):
    media_type = export.CSV_MEDIA_TYPE
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None:
            return b""
        headers, rows = _table(data)
        headers = [export.neutralize(header) for header in headers]
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(headers)
        writer.writerows(rows)
        return buffer.getvalue().encode(self.charset)


class XLSXRenderer(renderers.BaseRenderer):
    media_type = export.XLSX_MEDIA_TYPE
    format = "xlsx"
    charset = None
    render_style = "binary"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        workbook = Workbook()
        sheet = workbook.active
        if data is not None:
            headers, rows = _table(data)
            sheet.append([export.neutralize(header) for header in headers])
            for row in rows:
                sheet.append(row)
        buffer = io.BytesIO()
        workbook.save(buffer)
        return buffer.getvalue()
