"""An import's memory stays bounded whatever the file: long rows, many errors, many keys.

The peak memory of whole files (a million rows, a 100 MB line) is measured by
bench/import_memory.py (docs/performance.md); these tests hold the rules that
keep it bounded.
"""

import io
import tracemalloc

import openpyxl
import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import translation

from crm import importing
from crm.importing import ImportFileError, import_contacts
from crm.importing.keys import FileKeys
from crm.importing.reading import MAX_COLUMNS, MAX_ROW_CHARS, count_rows
from crm.models import Organization

pytestmark = pytest.mark.django_db

HEADER = b"slug,name,kind\n"


@pytest.fixture(autouse=True)
def in_english():
    with translation.override("en"):
        yield


class Endless(io.RawIOBase):
    """A file of ``head`` then ``filler`` repeated up to ``size``, counting the bytes read.

    Far larger than a row may be, and large enough that reading it whole shows.
    """

    def __init__(self, head: bytes, filler: bytes, size: int = 16 * 1024 * 1024):
        self.head, self.filler, self.size, self.read_bytes = head, filler, size, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        size = min(len(buffer), self.size - self.read_bytes)
        if size <= 0:
            return 0
        if self.read_bytes < len(self.head):
            data = self.head[self.read_bytes : self.read_bytes + size]
        else:
            # The filler goes on where the last read stopped.
            start = (self.read_bytes - len(self.head)) % len(self.filler)
            data = (self.filler * (size // len(self.filler) + 2))[start : start + size]
        buffer[: len(data)] = data
        self.read_bytes += len(data)
        return len(data)


def run(file, name: str = "contacts.csv", **kwargs):
    return import_contacts(file, filename=name, dry_run=True, **kwargs)


def test_a_csv_line_longer_than_a_row_may_be_is_refused_before_it_is_read_whole():
    # Before: the csv module read the whole line first (a 100 MB line took the
    # import to 850 MB).
    endless = Endless(HEADER, b"x,")

    with pytest.raises(ImportFileError, match=r"Row 2 is longer than [\d,]+ characters"):
        run(io.BufferedReader(endless))

    assert endless.read_bytes < 2 * MAX_ROW_CHARS


def test_a_quoted_cell_spanning_many_short_lines_is_bounded_too():
    # Each line is short; the record they make is not.
    # Each cell is short too (the csv module limits a cell's size, not a row's).
    endless = Endless(HEADER + b"visa,", b'"a cell over\ntwo lines",')

    with pytest.raises(ImportFileError, match="Row 2 is longer than"):
        run(io.BufferedReader(endless))

    assert endless.read_bytes < 2 * MAX_ROW_CHARS


def test_long_rows_are_counted_each_on_its_own():
    # Many rows, each well within the limit, that together far exceed it.
    cell = "d" * 9_000
    rows = "".join(f"org-{n},Org {n},company,{cell}\n" for n in range(100))
    content = "slug,name,kind,description\n" + rows

    result = run(io.BytesIO(content.encode()))

    assert result.error_count == 0
    assert result.rows == 100


def test_a_row_with_a_value_past_the_fiftieth_column_is_refused_naming_it():
    wide = "visa,Visa,company" + "," * (MAX_COLUMNS - 3) + ",surprise\n"

    with pytest.raises(ImportFileError, match=r"Row 3 has 51 columns; an import has at most 50"):
        run(io.BytesIO(HEADER + b"mastercard,Mastercard,company\n" + wide.encode()))


def test_empty_cells_past_the_last_column_are_not_an_error():
    trailing = "visa,Visa,company" + "," * 80 + "\n"

    result = run(io.BytesIO(HEADER + trailing.encode()))

    assert result.error_count == 0
    assert result.created == 1


def test_only_the_first_thousand_errors_are_kept_but_all_are_counted():
    rows = b"".join(b"org-%d,Org %d,not-a-kind\n" % (n, n) for n in range(1_500))

    result = run(io.BytesIO(HEADER + rows))

    assert result.error_count == 1_500
    assert len(result.errors) == importing.ERRORS_KEPT == 1_000
    assert result.errors_not_kept == 500
    assert [error.row for error in result.errors[:2]] == [2, 3]
    assert not result.saved


def test_the_command_says_how_many_errors_there_were_not_how_many_were_kept(tmp_path):
    path = tmp_path / "wrong.csv"
    rows = b"".join(b"org-%d,Org %d,not-a-kind\n" % (n, n) for n in range(1_200))
    path.write_bytes(HEADER + rows)

    with pytest.raises(CommandError) as refused:
        call_command("import_contacts", str(path), "--no-progress")

    assert "1200 error(s); nothing was imported" in str(refused.value)
    assert "… and 1150 more." in str(refused.value)
    assert not Organization.objects.filter(slug__startswith="org-").exists()


def test_the_admin_says_how_many_errors_it_does_not_list(client, coordinator):
    rows = b"".join(b"org-%d,Org %d,not-a-kind\n" % (n, n) for n in range(1_003))
    client.force_login(coordinator)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    upload = io.BytesIO(HEADER + rows)
    upload.name = "wrong.csv"

    response = client.post(reverse("admin:crm_organization_import"), {"file": upload})

    assert response.status_code == 200
    assert response.content.count(b"<li>row ") == 1_000
    assert "… and 3 more errors, not listed" in response.content.decode()


def test_a_key_repeated_in_a_later_chunk_names_its_first_row(monkeypatch):
    monkeypatch.setattr(importing, "CHUNK_ROWS", 2)
    rows = b"visa,Visa,company\nmastercard,Mastercard,company\nstanford,Stanford,company\n"
    rows += b"visa,Visa again,company\n"

    result = run(io.BytesIO(HEADER + rows))

    assert [str(error) for error in result.errors] == [
        "row 5, slug: The key “visa” is already in row 2 of this file."
    ]


def test_file_keys_remember_the_first_row_of_each_key_across_calls():
    with FileKeys() as keys:
        assert keys.first_rows([(2, "visa"), (3, "mastercard"), (4, "visa")]) == {
            "visa": 2,
            "mastercard": 3,
        }
        assert keys.first_rows([(5, "stanford"), (6, "mastercard"), (7, "")]) == {
            "stanford": 5,
            "mastercard": 3,
        }


def test_an_xlsx_sheet_too_large_to_read_says_so_and_sends_to_csv(monkeypatch):
    # A large sheet that is not a bomb (it packs as text packs); before, it was
    # refused as one ("unpacks to far more than it weighs").
    monkeypatch.setattr(importing.reading, "MAX_SHEET_BYTES", 1024 * 1024)
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet()
    sheet.append(["slug", "name", "kind", "description"])
    for n in range(20_000):
        sheet.append([f"org-{n}", f"Organisation {n}", "company", f"Met on day {n * 7919}."])
    content = io.BytesIO()
    workbook.save(content)

    with pytest.raises(ImportFileError) as refused:
        run(io.BytesIO(content.getvalue()), "large.xlsx")

    message = str(refused.value)
    assert "too large to import" in message
    assert "at most 1 MB of it (a sheet of about 80,000 rows" in message
    assert "Save it as “CSV UTF-8” and import that: a CSV file may hold up to 1,000,000" in message
    assert "1,000,000 rows" in message
    assert "far more than it weighs" not in message


def test_counting_a_csv_s_rows_for_the_progress_bar_never_holds_a_line_whole(tmp_path):
    path = tmp_path / "line.csv"
    with path.open("wb") as file:
        file.write(HEADER)
        for _ in range(20):
            file.write(b"x," * (512 * 1024))  # 20 MB on one line, no newline at its end.

    tracemalloc.start()
    try:
        rows = count_rows(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert rows == 1
    assert peak < 4 * 1024 * 1024


def test_counting_a_csv_s_rows_counts_a_last_line_without_its_newline(tmp_path):
    path = tmp_path / "rows.csv"
    path.write_bytes(HEADER + b"visa,Visa,company\nmastercard,Mastercard,company")

    assert count_rows(path) == 2
