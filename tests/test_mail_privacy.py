"""Read-only sees a mail's subject, date and parties only: never its attachments.

The attachments of mail are documents of the meeting; those need
``crm.read_mail_body`` (Staff, Coordination) on the download page and in the
API, as the body does. A file kept before, and only linked by a message, stays
as open as it was.
"""

import pytest
from django.core.files.base import ContentFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from crm import services
from crm.models import Document
from tests.mail_helpers import corpus, mail_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def attachment(private_documents):
    """The concept note Jean sent, kept from the Outlook forward's PDF."""
    mail_world()
    message = services.mail_receive(raw=corpus("outlook_fr_forward.eml"), door="upload").message
    return message.documents.get()


def test_staff_download_a_mail_attachment(client, attachment, staff_user):
    client.force_login(staff_user)

    response = client.get(reverse("document-download", args=[attachment.pk]))

    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"%PDF")


def test_read_only_cannot_download_a_mail_attachment_from_the_page(client, attachment, reader):
    client.force_login(reader)

    response = client.get(reverse("document-download", args=[attachment.pk]))

    assert response.status_code == 404


def test_read_only_does_not_see_mail_attachments_in_the_api(api_client, attachment, reader):
    api_client.force_authenticate(reader)
    url = f"/api/v1/documents/{attachment.pk}/"

    assert api_client.get("/api/v1/documents/").data["results"] == []
    assert (
        api_client.get("/api/v1/documents/", {"interaction": attachment.interaction_id}).data[
            "results"
        ]
        == []
    )
    assert api_client.get(url).status_code == 404
    assert api_client.get(f"{url}download/").status_code == 404


def test_staff_see_mail_attachments_in_the_api(api_client, attachment, staff_user):
    api_client.force_authenticate(staff_user)
    url = f"/api/v1/documents/{attachment.pk}/"

    rows = api_client.get("/api/v1/documents/").data["results"]

    assert [row["id"] for row in rows] == [attachment.pk]
    assert api_client.get(url).status_code == 200
    assert api_client.get(f"{url}download/").status_code == 200


def test_a_file_kept_before_and_linked_by_mail_stays_visible_to_read_only(
    api_client, private_documents, reader, staff_user
):
    world = mail_world()
    pdf = corpus("outlook_fr_forward.eml")  # the same PDF, uploaded by hand first
    note = _pdf_of(pdf)
    kept = services.document_create(
        by=staff_user,
        file=ContentFile(note, name="note.pdf"),
        title="Note conceptuelle",
        organization=world.mastercard,
    )
    message = services.mail_receive(raw=pdf, door="upload").message
    assert list(message.documents.all()) == [kept]
    api_client.force_authenticate(reader)

    rows = api_client.get("/api/v1/documents/").data["results"]

    assert [row["id"] for row in rows] == [kept.pk]
    assert api_client.get(f"/api/v1/documents/{kept.pk}/download/").status_code == 200


def test_read_only_document_list_takes_the_same_queries_whatever_the_attachments(
    api_client, attachment, reader
):
    api_client.force_authenticate(reader)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert api_client.get("/api/v1/documents/").status_code == 200
        return len(captured)

    queries()  # the user's permissions, cached on the user afterwards
    few = queries()
    for n in range(5):
        raw = corpus("outlook_fr_forward.eml").replace(b"AM0PR01MB1234.outlook", f"M{n}".encode())
        raw = raw.replace(b"Objet : Note", f"Objet : Note {n}".encode())
        services.mail_receive(raw=raw, door="upload")

    assert queries() == few
    assert Document.objects.from_mail().count() == 1  # the same PDF, kept once


def _pdf_of(raw: bytes) -> bytes:
    from email import policy
    from email.parser import BytesParser

    message = BytesParser(policy=policy.default).parsebytes(raw)
    [part] = [p for p in message.iter_attachments() if p.get_content_type() == "application/pdf"]
    return part.get_content()


def test_a_new_version_of_a_mail_attachment_stays_hidden_from_read_only(
    api_client, attachment, reader, staff_user
):
    newer = services.document_create(
        by=staff_user,
        file=ContentFile(_pdf_of(corpus("outlook_fr_forward.eml")) + b"\n% v2\n", name="v2.pdf"),
        title="Note conceptuelle, v2",
        previous_version=attachment,
    )

    api_client.force_authenticate(reader)
    assert api_client.get("/api/v1/documents/").data["results"] == []
    assert api_client.get(f"/api/v1/documents/{newer.pk}/download/").status_code == 404
    api_client.force_authenticate(staff_user)
    rows = api_client.get("/api/v1/documents/").data["results"]
    assert {row["id"] for row in rows} == {attachment.pk, newer.pk}
