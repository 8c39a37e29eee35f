"""Kept documents: type from the content, size limit, no zip bomb, private downloads, versions."""

import io
import zipfile

import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation

from crm import services
from crm.documents import check_upload
from crm.models import Document
from tests import factories

PDF = b"%PDF-1.7\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 40
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\0" * 200


@pytest.fixture(autouse=True)
def english():
    """The messages checked below are the English ones."""
    with translation.override("en"):
        yield


def office(entries: dict[str, bytes], *, compression=zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return buffer.getvalue()


DOCX = office({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w:document/>"})
XLSX = office({"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<workbook/>"})
ODT = office(
    {"mimetype": b"application/vnd.oasis.opendocument.text", "content.xml": b"<x/>"},
    compression=zipfile.ZIP_STORED,
)


def upload(content: bytes, name: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/pdf")


@pytest.mark.parametrize(
    ("content", "name", "expected"),
    [
        (PDF, "mou.pdf", "application/pdf"),
        (PNG, "scan.png", "image/png"),
        (b"\xff\xd8\xff\xe0" + b"\0" * 20, "photo.JPG", "image/jpeg"),
        (
            DOCX,
            "note.docx",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
        (XLSX, "budget.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        (ODT, "note.odt", "application/vnd.oasis.opendocument.text"),
    ],
)
def test_the_type_is_read_from_the_content(content, name, expected):
    checked = check_upload(upload(content, name))

    assert checked.content_type == expected
    assert checked.size == len(content)
    assert len(checked.sha256) == 64


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (EXE, "mou.pdf", "not a PDF, DOCX"),  # An executable renamed .pdf.
        (b"<html><script>", "page.pdf", "not a PDF, DOCX"),
        (PNG, "mou.pdf", "its name ends in"),  # A PNG calling itself a PDF.
        (office({"a.txt": b"x"}), "note.docx", "not a PDF, DOCX"),  # A zip, not a document.
        (b"", "empty.pdf", "empty"),
    ],
)
def test_a_file_whose_content_is_not_an_accepted_type_is_refused(content, name, message):
    with pytest.raises(ValidationError) as error:
        check_upload(upload(content, name))

    assert message in " ".join(error.value.message_dict["file"])


def test_a_zip_bomb_dressed_as_a_docx_is_refused_without_expanding_it():
    bomb = office(
        {
            "[Content_Types].xml": b"<Types/>",
            "word/document.xml": b"<w:document/>",
            "word/media/zeros.bin": b"\0" * (50 * 1024 * 1024),
        }
    )
    assert len(bomb) < 100 * 1024

    with pytest.raises(ValidationError, match="zip bomb"):
        check_upload(upload(bomb, "note.docx"))


def test_a_file_over_the_size_limit_is_refused(settings):
    settings.CRM_DOCUMENT_MAX_BYTES = 1000

    with pytest.raises(ValidationError, match="larger than the limit"):
        check_upload(upload(PDF + b"\0" * 1000, "big.pdf"))


# Pages: upload and download.


@pytest.fixture
def kept(db, staff_user):
    organization = factories.OrganizationFactory(slug="visa")
    return services.document_create(
        by=staff_user,
        file=ContentFile(PDF, name="mou.pdf"),
        title="MoU",
        organization=organization,
    )


def test_a_document_is_stored_privately_with_its_hash(kept, private_documents):
    import hashlib

    assert kept.sha256 == hashlib.sha256(PDF).hexdigest()
    assert kept.size == len(PDF) and kept.content_type == "application/pdf"
    stored = private_documents / kept.file.name
    assert stored.read_bytes() == PDF
    assert kept.file.name.startswith("documents/") and "mou" not in kept.file.name


def test_staff_upload_a_document_from_the_organisation_page(client, staff_user, db):
    factories.OrganizationFactory(slug="visa")
    client.force_login(staff_user)

    response = client.post(
        "/documents/new/?organization=visa",
        {"title": "Concept note", "file": upload(DOCX, "note.docx")},
    )

    assert response.status_code == 302
    document = Document.objects.get()
    assert (document.title, document.uploaded_by, document.organization.slug) == (
        "Concept note",
        staff_user,
        "visa",
    )


def test_a_renamed_executable_is_refused_by_the_page_with_a_400(client, staff_user, db):
    factories.OrganizationFactory(slug="visa")
    client.force_login(staff_user)

    response = client.post(
        "/documents/new/?organization=visa", {"title": "Virus", "file": upload(EXE, "mou.pdf")}
    )

    assert response.status_code == 400
    assert not Document.objects.exists()


def test_an_upload_over_the_limit_is_stopped_with_a_413(client, staff_user, db, settings):
    settings.CRM_DOCUMENT_MAX_BYTES = 2000
    factories.OrganizationFactory(slug="visa")
    client.force_login(staff_user)

    response = client.post(
        "/documents/new/?organization=visa",
        {"title": "Big", "file": upload(PDF + b"\0" * 200_000, "big.pdf")},
    )

    assert response.status_code == 413
    assert not Document.objects.exists()


def test_the_owner_of_the_permission_downloads_the_file(client, reader, kept):
    client.force_login(reader)

    response = client.get(f"/documents/{kept.pk}/download/")

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="mou.pdf"'


def test_a_user_without_permission_gets_a_403(client, kept):
    nobody = factories.UserFactory(username="nobody")
    client.force_login(nobody)

    assert client.get(f"/documents/{kept.pk}/download/").status_code == 403


def test_an_anonymous_visitor_is_sent_to_the_login_page(client, kept):
    response = client.get(f"/documents/{kept.pk}/download/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_no_media_url_serves_the_files(client, kept, settings):
    assert client.get(f"/media/{kept.file.name}").status_code == 404
    with pytest.raises(ValueError, match="no public URL"):
        kept.file.url  # noqa: B018


def test_a_new_version_keeps_the_old_one_and_its_attachments(staff_user, kept):
    second = services.document_create(
        by=staff_user,
        file=ContentFile(PDF + b"% signed\n", name="mou.pdf"),
        title="MoU, signed",
        previous_version=kept,
    )

    kept.refresh_from_db()
    assert (second.revision, second.previous_version, second.organization) == (
        2,
        kept,
        kept.organization,
    )
    assert second.file.name != kept.file.name
    assert kept.file.read() == PDF  # Not overwritten.
    with pytest.raises(ValidationError, match="newer version"):
        services.document_create(
            by=staff_user, file=ContentFile(PDF, name="x.pdf"), title="x", previous_version=kept
        )


# A file gone from the store (a restore without the files, a disk replaced): the
# download says so with a 404, on the page and in the API, never a 500.


def test_a_document_whose_file_is_missing_is_a_404_page_that_says_so(
    client, reader, kept, settings
):
    kept.file.storage.delete(kept.file.name)
    client.force_login(reader)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    response = client.get(f"/documents/{kept.pk}/download/")

    assert response.status_code == 404
    assert "The file of this document is missing from the document store" in (
        response.content.decode()
    )
    assert response.templates[0].name == "crm/not_found.html"


def test_a_document_whose_file_is_missing_is_a_404_in_the_api(api_client, reader, kept):
    kept.file.storage.delete(kept.file.name)
    api_client.force_authenticate(reader)

    response = api_client.get(f"/api/v1/documents/{kept.pk}/download/")

    assert response.status_code == 404
    assert response.json()["detail"].startswith(
        "The file of this document is missing from the document store"
    )
