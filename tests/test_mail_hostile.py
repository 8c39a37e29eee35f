"""Hostile mail never costs a message or a worker; and where mail shows, and its purge."""

from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from crm import services
from crm.mail import parsing
from crm.models import Interaction, MailMessage
from tests.mail_helpers import corpus, mail_world

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def in_english(client, settings):
    """Reasons and pages in English, as these tests read them."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    with translation.override("en"):
        yield


@pytest.fixture
def world():
    return mail_world()


def headers(extra: str = "", *, body: str = "Hello") -> bytes:
    return (
        "From: Mary Test <mary.test@visa.com>\r\nTo: ama.mensah@mcc-togo.example\r\n"
        f"Subject: Test\r\nDate: Mon, 13 Oct 2025 07:30:00 +0000\r\n{extra}\r\n{body}\r\n"
    ).encode()


def test_oversized_message_is_refused_before_parsing_at_the_web_doors(world, settings):
    settings.CRM_MAIL_MAX_BYTES = 50 * 1024 * 1024
    raw = headers(body="x") + b"a" * (50 * 1024 * 1024)

    with pytest.raises(services.MailRefused, match="larger than the limit"):
        services.mail_receive(raw=raw, door="upload")
    assert not MailMessage.objects.exists()


def test_oversized_message_from_the_mailbox_waits_with_the_reason(world, settings):
    settings.CRM_MAIL_MAX_BYTES = 1000
    raw = headers("Message-ID: <big@visa.com>\r\n", body="a" * 5000)

    receipt = services.mail_receive(raw=raw, door="mailbox")

    assert receipt.message.status == MailMessage.Status.REFUSED
    assert "larger than the limit" in receipt.message.error_display
    assert receipt.message.subject == "Test"
    assert not receipt.message.raw  # not kept: that is what was refused


def test_malformed_mime_from_the_mailbox_is_kept_to_file_not_lost(world):
    raw = headers(
        'Content-Type: multipart/mixed; boundary="never-closed"\r\n',
        body="--never-closed\r\nContent-Type: text/plain\r\n\r\nHello\r\n--wrong",
    )

    receipt = services.mail_receive(raw=raw, door="mailbox")

    assert receipt.message.pk is not None  # read as far as it goes, never a crash


def test_garbage_is_refused_at_the_web_doors_and_recorded_from_the_mailbox(world):
    with pytest.raises(services.MailRefused):
        services.mail_receive(raw=b"\x00\xff" * 100, door="api")

    receipt = services.mail_receive(raw=b"\x00\xff" * 100, door="mailbox")
    assert receipt.message.status == MailMessage.Status.REFUSED
    assert receipt.message.error_display == (
        "This is not an e-mail message (no mail headers were found)."
    )


def test_missing_date_and_message_id_still_gives_one_record(world):
    raw = b"From: Mary Test <mary.test@visa.com>\r\nSubject: No date\r\n\r\nHello\r\n"

    first = services.mail_receive(raw=raw, door="upload")
    again = services.mail_receive(raw=raw, door="upload")

    assert first.message.fingerprint.startswith("sha:")
    assert not again.created
    assert first.message.status == MailMessage.Status.FILED
    assert first.message.interaction.occurred_on == timezone.localdate()


def test_a_thousand_recipients_are_read_in_bounded_queries(world):
    recipients = ", ".join(f"person{i}@example-test.org" for i in range(1000))
    raw = headers(f"Cc: {recipients}\r\nMessage-ID: <many@visa.com>\r\n")

    with CaptureQueriesContext(connection) as queries:
        message = services.mail_receive(raw=raw, door="upload").message

    assert len(message.cc_addresses) == parsing.MAX_PARTIES
    assert message.status == MailMessage.Status.FILED
    assert len(queries) < 60


def test_ten_nested_forwards_take_the_innermost(world):
    body = "Innermost text\r\n"
    raw_inner = (
        "From: Mary Test <mary.test@visa.com>\r\nSubject: The original\r\n"
        "Date: Mon, 06 Oct 2025 09:00:00 +0000\r\nMessage-ID: <original@visa.com>\r\n\r\n" + body
    )
    for level in range(10):
        raw_inner = (
            f"From: Kofi Test <kofi.test@mcc-togo.example>\r\nSubject: Fwd: level {level}\r\n"
            f"Date: Tue, 07 Oct 2025 09:00:00 +0000\r\nMessage-ID: <level{level}@mcc.example>\r\n"
            'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n'
            "Content-Type: text/plain\r\n\r\nsee below\r\n--b%d\r\n"
            "Content-Type: message/rfc822\r\n\r\n%s\r\n--b%d--\r\n"
        ) % (level, level, level, raw_inner, level)

    message = services.mail_receive(raw=raw_inner.encode(), door="upload").message

    assert message.message_id == "<original@visa.com>"
    assert message.subject == "The original"
    assert message.interaction.occurred_on.isoformat() == "2025-10-06"
    assert message.filed_by == world.kofi


def test_header_injection_in_names_is_flattened(world):
    raw = headers().replace(
        b"From: Mary Test <mary.test@visa.com>",
        b'From: "Mary\\r\\nBcc: evil@x.test" <mary.test@visa.com>',
    )
    raw = raw.replace(b"Subject: Test", b"Subject: =?utf-8?q?Hi=0D=0ABcc=3A_evil=40x=2Etest?=")

    message = services.mail_receive(raw=raw, door="upload").message

    assert "\n" not in message.from_name and "\r" not in message.from_name
    assert "\n" not in message.subject and "\r" not in message.subject
    assert message.interaction.title == message.subject


def test_non_utf8_bytes_in_headers_are_read_without_error(world):
    raw = headers().replace(b"Subject: Test", b"Subject: R\xe9union \xff\xfe")

    message = services.mail_receive(raw=raw, door="upload").message

    assert message.subject.startswith("R")
    assert message.status == MailMessage.Status.FILED


def test_unencoded_8bit_names_in_address_headers_are_stored_as_readable_text(world):
    # Raw UTF-8 (as many clients send) and Latin-1 bytes in display names: the
    # email package hands them back as lone surrogates, which PostgreSQL refuses.
    raw = headers().replace(
        b"To: ama.mensah@mcc-togo.example",
        b"To: Unit\xc3\xa9 de coordination <ama.mensah@mcc-togo.example>\r\n"
        b"Cc: \xc9l\xe8ve Test <mary.test@visa.com>",
    )

    message = services.mail_receive(raw=raw, door="upload").message

    message.refresh_from_db()
    assert message.to_addresses == ["Unité de coordination <ama.mensah@mcc-togo.example>"]
    assert message.cc_addresses == ["Élève Test <mary.test@visa.com>"]
    assert message.status == MailMessage.Status.FILED


def test_attachment_bomb_is_skipped_with_its_reason_and_the_mail_kept(world, settings):
    import base64
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "x")
        archive.writestr("word/document.xml", b"\x00" * (30 * 1024 * 1024))
    bomb = base64.encodebytes(buffer.getvalue()).decode()
    raw = headers(
        'Message-ID: <bomb@visa.com>\r\nContent-Type: multipart/mixed; boundary="b"\r\n',
        body=(
            "--b\r\nContent-Type: text/plain\r\n\r\nSee attached\r\n--b\r\n"
            'Content-Type: application/octet-stream; name="bomb.docx"\r\n'
            'Content-Disposition: attachment; filename="bomb.docx"\r\n'
            f"Content-Transfer-Encoding: base64\r\n\r\n{bomb}\r\n--b--"
        ),
    )

    message = services.mail_receive(raw=raw, door="upload").message

    assert message.status == MailMessage.Status.FILED
    assert message.documents.count() == 0
    [skipped] = message.skipped_attachments
    assert skipped["name"] == "bomb.docx"
    assert "zip" in skipped["reason"]  # the document service's reason, in the language active


def test_huge_decoded_attachment_is_skipped_by_the_document_limit(world, settings):
    settings.CRM_DOCUMENT_MAX_BYTES = 1000
    import base64

    pdf = base64.encodebytes(b"%PDF-1.4\n" + b"0" * 5000).decode()
    raw = headers(
        'Message-ID: <huge@visa.com>\r\nContent-Type: multipart/mixed; boundary="b"\r\n',
        body=(
            "--b\r\nContent-Type: text/plain\r\n\r\nSee attached\r\n--b\r\n"
            'Content-Type: application/pdf; name="big.pdf"\r\n'
            'Content-Disposition: attachment; filename="big.pdf"\r\n'
            f"Content-Transfer-Encoding: base64\r\n\r\n{pdf}\r\n--b--"
        ),
    )

    message = services.mail_receive(raw=raw, door="upload").message

    assert message.skipped_attachments == [
        {"name": "big.pdf", "reason": "The attachment is larger than the limit."}
    ]


# -- where it shows ------------------------------------------------------------


def test_organisation_timeline_shows_the_email_with_from_to_and_attachment(
    client, world, staff_user
):
    message = services.mail_receive(raw=corpus("outlook_fr_forward.eml"), door="upload").message
    client.force_login(staff_user)

    page = client.get(world.mastercard.get_absolute_url()).content.decode()

    assert "Note conceptuelle – paiements numériques" in page
    assert "From Jean Test" in page
    assert "Note conceptuelle - paiements.pdf" in page
    assert message.get_absolute_url() in page


def test_organisation_timeline_reads_mail_in_bounded_queries(client, world, staff_user):
    client.force_login(staff_user)
    services.mail_receive(raw=corpus("windows1252.eml"), door="upload")
    with CaptureQueriesContext(connection) as queries:
        client.get(world.mastercard.get_absolute_url())
    before = len(queries)
    services.mail_receive(raw=corpus("outlook_fr_forward.eml"), door="upload")
    services.mail_receive(raw=corpus("invitation_request.eml"), door="upload")

    with CaptureQueriesContext(connection) as queries:
        client.get(world.mastercard.get_absolute_url())

    assert len(queries) == before


def test_person_page_shows_the_email(client, world, staff_user):
    services.mail_receive(raw=corpus("apple_reply.eml"), door="upload")
    client.force_login(staff_user)

    page = client.get(world.mary.get_absolute_url()).content.decode()

    assert "Pilot timeline" in page
    assert "Read the e-mail" in page


def test_reader_sees_no_attachment_link_on_the_timeline(client, world, reader):
    services.mail_receive(raw=corpus("outlook_fr_forward.eml"), door="upload")
    client.force_login(reader)

    page = client.get(world.mastercard.get_absolute_url()).content.decode()

    assert "From Jean Test" in page
    assert "Note conceptuelle - paiements.pdf" not in page


def test_dashboard_counts_the_messages_waiting(client, world, staff_user):
    raw = corpus("apple_reply.eml").replace(b"mary.test@visa.com", b"new.test@visa.com")
    services.mail_receive(raw=raw, door="upload")
    client.force_login(staff_user)

    page = client.get(reverse("dashboard")).content.decode()

    assert "1 e-mail waits to be filed" in page
    assert reverse("mail") in page


# -- privacy -------------------------------------------------------------------


def test_purge_blanks_old_bodies_keeping_the_meeting_and_headers(world):
    old = services.mail_receive(raw=corpus("outlook_fr_forward.eml"), door="upload").message
    with time_machine.travel(timezone.now() + timedelta(days=700)):
        recent = services.mail_receive(raw=corpus("apple_reply.eml"), door="upload").message

    with time_machine.travel(timezone.now() + timedelta(days=731)):
        call_command("purge_mail_bodies")
        call_command("purge_mail_bodies")  # safe to run twice

    old.refresh_from_db()
    recent.refresh_from_db()
    assert old.body == "" and old.summary == "" and not old.raw
    assert old.body_purged_at is not None
    assert old.subject and old.from_address and old.interaction_id
    assert Interaction.objects.filter(pk=old.interaction_id).exists()
    assert old.documents.count() == 1
    assert "pilot can start" in recent.body


def test_a_nul_in_the_body_is_dropped_not_a_database_error(world):
    raw = headers("Message-ID: <nul@visa.com>\r\n", body="Budget\x00 note")

    receipt = services.mail_receive(raw=raw, door="upload")

    message = MailMessage.objects.get(pk=receipt.message.pk)
    assert message.body == "Budget note"
    assert "\x00" not in message.summary
