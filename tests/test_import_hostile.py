"""Hostile files: bombs, millions of blank rows, NUL bytes, huge cells, repeated keys."""

import io
import time
import tracemalloc
import zipfile

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import translation

from crm import importing
from crm.importing import ImportFileError, import_contacts
from crm.models import ImportJob, Organization, PendingImport

pytestmark = pytest.mark.django_db

MB = 1024 * 1024


@pytest.fixture(autouse=True)
def in_english():
    """Messages are matched in English, whatever an earlier test left active."""
    with translation.override("en"):
        yield


def run(content: bytes, name: str, **kwargs):
    return import_contacts(io.BytesIO(content), filename=name, dry_run=True, **kwargs)


def _xlsx_with(replace: dict[str, callable]) -> bytes:
    """A real workbook (header and one row) whose named entries are rewritten.

    Each replacement writes its entry in blocks, so that building a bomb of
    tens of megabytes costs the test little memory.
    """
    workbook = openpyxl.Workbook()
    workbook.active.append(["slug", "name", "kind"])
    workbook.active.append(["visa", "Visa", "company"])
    source = io.BytesIO()
    workbook.save(source)
    out = io.BytesIO()
    with (
        zipfile.ZipFile(source) as original,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as bomb,
    ):
        for info in original.infolist():
            if info.filename in replace:
                with bomb.open(info.filename, "w", force_zip64=True) as entry:
                    for block in replace[info.filename]():
                        entry.write(block)
            else:
                bomb.writestr(info, original.read(info))
        for name in set(replace) - set(original.namelist()):
            with bomb.open(name, "w", force_zip64=True) as entry:
                for block in replace[name]():
                    entry.write(block)
    return out.getvalue()


def _huge_shared_string():
    yield b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>'
    block = b"A" * MB
    for _ in range(40):
        yield block
    yield b"</t></si></sst>"


def _blank_rows(count: int, *, dimension: bool):
    yield b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    if dimension:
        yield f'<dimension ref="A1:C{count + 1}"/>'.encode()
    yield b'<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>slug</t></is></c>'
    yield b'<c r="B1" t="inlineStr"><is><t>name</t></is></c>'
    yield b'<c r="C1" t="inlineStr"><is><t>kind</t></is></c></row>'
    step = 100_000
    for start in range(2, count + 2, step):
        stop = min(start + step, count + 2)
        yield "".join(f'<row r="{n}"/>' for n in range(start, stop)).encode()
    yield b"</sheetData></worksheet>"


def test_an_xlsx_bomb_is_refused_before_it_is_read_with_bounded_memory():
    bomb = _xlsx_with({"xl/sharedStrings.xml": _huge_shared_string})
    assert len(bomb) < MB  # 40 MB of text in a file smaller than 1 MB.

    tracemalloc.start()
    try:
        with pytest.raises(ImportFileError, match="unpacks to far more"):
            run(bomb, "bomb.xlsx")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert peak < 5 * MB, peak


def test_the_command_refuses_an_xlsx_bomb_cleanly(tmp_path):
    path = tmp_path / "bomb.xlsx"
    path.write_bytes(_xlsx_with({"xl/sharedStrings.xml": _huge_shared_string}))

    with pytest.raises(CommandError, match="unpacks to far more"):
        call_command("import_contacts", str(path), "--dry-run", "--no-progress")


def test_three_million_blank_rows_declared_in_the_sheet_are_refused_at_once():
    sheet = "xl/worksheets/sheet1.xml"
    blank = _xlsx_with({sheet: lambda: _blank_rows(3_000_000, dimension=True)})

    started = time.perf_counter()
    with pytest.raises(ImportFileError, match="more than"):
        run(blank, "blank.xlsx")

    assert time.perf_counter() - started < 1


def test_three_million_blank_rows_undeclared_are_refused_at_the_admins_cap():
    sheet = "xl/worksheets/sheet1.xml"
    blank = _xlsx_with({sheet: lambda: _blank_rows(3_000_000, dimension=False)})

    started = time.perf_counter()
    with pytest.raises(ImportFileError, match="Import page"):
        run(blank, "blank.xlsx", max_rows=importing.ADMIN_MAX_ROWS)

    assert time.perf_counter() - started < 3


def test_three_million_blank_csv_lines_are_refused_at_the_admins_cap():
    content = b"slug,name,kind\n" + b",,\n" * 3_000_000

    started = time.perf_counter()
    with pytest.raises(ImportFileError, match="Import page"):
        run(content, "blank.csv", max_rows=importing.ADMIN_MAX_ROWS)

    assert time.perf_counter() - started < 3


def test_a_sheet_of_too_many_columns_is_refused():
    def wide():
        yield b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        yield b'<dimension ref="A1:ZZ2"/><sheetData/></worksheet>'

    with pytest.raises(ImportFileError, match="columns"):
        run(_xlsx_with({"xl/worksheets/sheet1.xml": wide}), "wide.xlsx")


def test_a_nul_byte_is_a_field_error_naming_row_and_column():
    content = b"slug,name,kind\nvisa,Vi\x00sa,company\n"

    result = run(content, "nul.csv")

    assert [(error.row, error.column) for error in result.errors] == [(2, "name")]
    assert "NUL" in result.errors[0].message
    assert not Organization.objects.exists()


def test_an_error_quotes_only_an_excerpt_of_a_long_value():
    long_kind = "x" * 5_000
    huge_name = "y" * 50_000
    content = f"slug,name,kind\nvisa,Visa,{long_kind}\nmc,{huge_name},company\n".encode()

    result = run(content, "long.csv")

    assert {(error.row, error.column) for error in result.errors} == {(2, "kind"), (3, "name")}
    for error in result.errors:
        assert len(str(error)) < 200, str(error)
        assert "x" * 40 not in error.message and "y" * 40 not in error.message


def test_a_key_repeated_in_one_file_names_both_rows():
    content = b"slug,name,kind\nvisa,Visa,company\nmc,MC,company\nvisa,Visa 2,company\n"

    result = run(content, "twice.csv")

    assert [(error.row, error.column) for error in result.errors] == [(4, "slug")]
    assert "2" in result.errors[0].message


def test_the_admin_sends_a_file_above_its_row_cap_to_an_import_job(
    client, coordinator, monkeypatch
):
    monkeypatch.setattr(importing, "ADMIN_MAX_ROWS", 3)
    client.force_login(coordinator)
    content = b"slug,name,kind\n" + b"".join(b"o%d,O%d,company\n" % (n, n) for n in range(5))

    response = client.post(
        reverse("admin:crm_organization_import"),
        {"file": SimpleUploadedFile("big.csv", content, content_type="text/csv")},
    )

    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("import-job", args=[job.pk])
    assert (job.kind, job.step, job.status) == ("organizations", "check", "queued")
    assert job.requested_by == coordinator
    assert not PendingImport.objects.exists()
    assert not Organization.objects.exists()


def test_the_admin_refuses_an_xlsx_bomb_with_its_message(client, coordinator):
    client.force_login(coordinator)
    bomb = _xlsx_with({"xl/sharedStrings.xml": _huge_shared_string})

    response = client.post(
        reverse("admin:crm_organization_import"),
        {"file": SimpleUploadedFile("bomb.xlsx", bomb)},
    )

    assert response.status_code == 200
    assert response.context["form"].errors["file"]
    assert not response.context.get("token")


@pytest.mark.parametrize(
    "website",
    [
        "https://org.example.org",
        "http://a.bc/x/y-z.html",
        "https://x-.com",
        "notaurl",
        "ftp://x.org",
    ],
)
def test_web_addresses_are_checked_as_the_model_checks_them(website):
    from django.core.exceptions import ValidationError

    try:
        Organization(slug="o", name="O", kind="company", website=website).full_clean()
        expected = []
    except ValidationError as error:
        expected = [("website" in error.message_dict)]
    content = f"slug,name,kind,website\no,O,company,{website}\n".encode()

    result = run(content, "sites.csv")

    assert [error.column == "website" for error in result.errors] == expected
