"""The admin's upload forms refuse a file too large while it arrives, not after.

The body of each request here is made on demand and counts what the server
read of it: a refused upload must leave almost all of it unread. CSRF is
enforced as in production (the check reads the form, so the limit must be in
place before it).
"""

import io

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from crm import services
from crm.models import Document, PendingImport
from tests import factories

pytestmark = pytest.mark.django_db

MiB = 1024 * 1024
BOUNDARY = "crm-test-boundary"
PDF = b"%PDF-1.7\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
ORGS = "slug,name,kind,country,is_identified\nvisa,Visa,payment_network,US,true\n"


class CountingBody(io.RawIOBase):
    """A multipart body with one file of ``file_size`` bytes, made as it is read.

    ``read`` counts the bytes handed out; ``endless`` goes on past the end the
    request declares, as a client that lied about its length would.
    """

    def __init__(self, file_size: int, *, name: str = "big.csv", endless: bool = False):
        self.head = (
            f"--{BOUNDARY}\r\n"
            f'Content-Disposition: form-data; name="title"\r\n\r\nBig\r\n'
            f"--{BOUNDARY}\r\n"
            f'Content-Disposition: form-data; name="file"; filename="{name}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        self.tail = f"\r\n--{BOUNDARY}--\r\n".encode()
        self.file_size = file_size
        self.endless = endless
        self.position = 0

    def __len__(self) -> int:
        return len(self.head) + self.file_size + len(self.tail)

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            size = len(self) - self.position
        if not self.endless:
            size = min(size, len(self) - self.position)
        chunk = bytearray()
        while len(chunk) < size:
            offset = self.position + len(chunk)
            if offset < len(self.head):
                piece = self.head[offset : offset + size - len(chunk)]
            elif self.endless or offset < len(self.head) + self.file_size:
                end = len(self.head) + self.file_size if not self.endless else offset + size
                piece = b"a" * min(size - len(chunk), end - offset)
            else:
                start = offset - len(self.head) - self.file_size
                piece = self.tail[start : start + size - len(chunk)]
            chunk += piece
        self.position += len(chunk)
        return bytes(chunk)

    def readline(self, size: int = -1) -> bytes:
        return self.read(size)


def csrf_client(user) -> Client:
    client = Client(enforce_csrf_checks=True, raise_request_exception=False)
    client.cookies["django_language"] = "en"  # The messages checked are English.
    client.force_login(user)
    return client


def csrf_token(client: Client, url: str) -> str:
    assert client.get(url).status_code == 200
    return client.cookies["csrftoken"].value


def post_body(client: Client, url: str, body: CountingBody, *, declared: int | None = None):
    """POST ``body`` to ``url`` with the CSRF token of a page opened first."""
    return client.generic(
        "POST",
        url,
        CONTENT_TYPE=f"multipart/form-data; boundary={BOUNDARY}",
        CONTENT_LENGTH=str(len(body) if declared is None else declared),
        HTTP_X_CSRFTOKEN=csrf_token(client, url),
        **{"wsgi.input": body},
    )


# The contact import: CRM_IMPORT_MAX_BYTES at most (100 MiB).


def import_url() -> str:
    return reverse("admin:crm_organization_import")


def test_an_import_over_the_limit_is_refused_from_its_length_before_it_is_read(
    coordinator, settings
):
    settings.CRM_IMPORT_MAX_BYTES = 20 * MiB
    client = csrf_client(coordinator)
    body = CountingBody(60 * MiB)

    response = post_body(client, import_url(), body)

    assert response.status_code == 413
    assert body.position < MiB
    error = "The file is larger than 20.0\xa0MB: split it."
    assert response.context["form"].errors["file"] == [error]
    assert error in response.text
    assert 'enctype="multipart/form-data"' in response.text  # The form, to try again.
    assert not PendingImport.objects.exists()


def test_an_import_whose_file_passes_the_limit_is_refused_as_it_arrives(coordinator, settings):
    # The declared length passes the first check; the file inside does not.
    settings.CRM_IMPORT_MAX_BYTES = 256 * 1024
    client = csrf_client(coordinator)
    declared = 256 * 1024 + 32 * 1024
    body = CountingBody(10 * MiB, endless=True)

    response = post_body(client, import_url(), body, declared=declared)

    assert response.status_code == 413
    assert "split it" in response.context["form"].errors["file"][0]
    assert body.position <= declared  # Never a byte past what was declared.
    assert not PendingImport.objects.exists()


def test_an_import_posted_without_the_csrf_token_is_refused(coordinator):
    client = csrf_client(coordinator)
    csrf_token(client, import_url())  # The cookie, but no token in the form.

    response = client.post(import_url(), {"file": SimpleUploadedFile("orgs.csv", ORGS.encode())})

    assert response.status_code == 403
    assert not PendingImport.objects.exists()


def test_a_small_import_with_its_token_is_previewed(coordinator):
    client = csrf_client(coordinator)
    token = csrf_token(client, import_url())

    response = client.post(
        import_url(),
        {"file": SimpleUploadedFile("orgs.csv", ORGS.encode()), "csrfmiddlewaretoken": token},
    )

    assert response.status_code == 200
    assert response.context["result"].created == 1
    assert PendingImport.objects.count() == 1


# Documents: CRM_DOCUMENT_MAX_BYTES, on the add form and the change form.


@pytest.fixture
def organization():
    return factories.OrganizationFactory()


def test_a_document_over_the_limit_is_refused_from_its_length_before_it_is_read(
    coordinator, organization
):
    client = csrf_client(coordinator)
    body = CountingBody(60 * MiB, name="big.pdf")

    response = post_body(client, reverse("admin:crm_document_add"), body)

    assert response.status_code == 413
    assert body.position < MiB
    message = "The file is larger than the limit of 20.0\xa0MB."
    assert response.context["too_large"] == message
    assert message in response.text
    assert reverse("admin:crm_document_add") in response.text  # A way back to the form.
    assert not Document.objects.exists()


def test_a_document_whose_file_passes_the_limit_is_refused_as_it_arrives(
    coordinator, organization, settings
):
    settings.CRM_DOCUMENT_MAX_BYTES = 256 * 1024
    client = csrf_client(coordinator)
    declared = 256 * 1024 + 32 * 1024
    body = CountingBody(10 * MiB, name="big.pdf", endless=True)

    response = post_body(client, reverse("admin:crm_document_add"), body, declared=declared)

    assert response.status_code == 413
    assert response.context["too_large"] == "The file is larger than the limit of 256.0\xa0KB."
    assert body.position <= declared
    assert not Document.objects.exists()


def test_a_file_sent_to_a_document_s_change_form_is_refused_before_it_is_read(
    coordinator, organization
):
    document = services.document_create(
        by=coordinator,
        file=ContentFile(PDF, name="mou.pdf"),
        title="MoU",
        organization=organization,
    )
    client = csrf_client(coordinator)
    body = CountingBody(60 * MiB, name="big.pdf")

    response = post_body(client, reverse("admin:crm_document_change", args=[document.pk]), body)

    assert response.status_code == 413
    assert body.position < MiB
    assert "larger than the limit" in response.text


def add_document(client: Client, organization, **extra):
    return client.post(
        reverse("admin:crm_document_add"),
        {
            "title": "Memorandum",
            "file": SimpleUploadedFile("mou.pdf", PDF, content_type="application/pdf"),
            "organization": organization.pk,
            **extra,
        },
    )


def test_a_document_posted_without_the_csrf_token_is_refused(coordinator, organization):
    client = csrf_client(coordinator)
    csrf_token(client, reverse("admin:crm_document_add"))

    response = add_document(client, organization)

    assert response.status_code == 403
    assert not Document.objects.exists()


def test_a_small_document_with_its_token_is_kept(coordinator, organization):
    client = csrf_client(coordinator)
    token = csrf_token(client, reverse("admin:crm_document_add"))

    response = add_document(client, organization, csrfmiddlewaretoken=token)

    assert response.status_code == 302
    assert Document.objects.get().organization == organization
