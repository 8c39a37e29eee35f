"""Mail taken in batches (``services.mail_receive_many``): the upload page's files, a mailbox run.

A batch gives each message the outcome ``mail_receive`` would give it alone,
in a number of statements that does not grow with the number of messages.
"""

from email.message import EmailMessage

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from crm import services
from crm.models import Document, Interaction, MailMessage
from crm.services import mail as mail_services
from tests.mail_helpers import corpus, mail_world, newcomer_reply

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return mail_world()


@pytest.fixture(autouse=True)
def in_english():
    with translation.override("en"):
        yield


def reply(number: int, *, sender: bytes = b"Mary Test <mary.test@visa.com>") -> bytes:
    """A reply from Mary (on file, at Visa) with a Message-ID and subject of its own."""
    return (
        corpus("apple_reply.eml")
        .replace(b"Mary Test <mary.test@visa.com>", sender)
        .replace(b"APPLE-REPLY", b"BATCH-%d" % number)
        .replace(b"Pilot timeline", b"Pilot timeline %d" % number)
    )


def forward_with_its_own_pdf(number: int) -> bytes:
    """A note from Jean (on file, at Mastercard), with a PDF of its own."""
    message = EmailMessage()
    message["From"] = "Jean Test <jean.test@mastercard.com>"
    message["To"] = "Ama Mensah <ama.mensah@mcc-togo.example>"
    message["Subject"] = f"Note conceptuelle {number}"
    message["Date"] = "Tue, 14 Oct 2025 09:00:00 +0000"
    message["Message-ID"] = f"<note-{number}@mastercard.com>"
    message.set_content("Bonjour Ama,\n\nVoici la note.\n")
    pdf = b"%PDF-1.4\n% note " + str(number).encode() + b"\n%%EOF\n"
    message.add_attachment(
        pdf, maintype="application", subtype="pdf", filename=f"note-{number}.pdf"
    )
    return message.as_bytes()


def test_each_message_of_a_batch_gets_the_outcome_it_would_get_alone(world, staff_user):
    raws = [
        corpus("outlook_fr_forward.eml"),  # filed with its PDF
        newcomer_reply(),  # waits: sender not on file
        b"not an e-mail at all",  # refused at the upload door
        corpus("gmail_en_forward.eml"),  # filed with Visa
    ]

    outcomes = services.mail_receive_many(raws, door="upload", by=staff_user)

    forward, newcomer, refused, gmail = outcomes
    assert forward.created and forward.message.status == MailMessage.Status.FILED
    assert forward.message.interaction.organizations.get() == world.mastercard
    assert forward.message.documents.count() == 1
    assert newcomer.message.status == MailMessage.Status.TO_FILE
    assert "nadia.test@visa.com is not on file" in newcomer.message.reason_display
    assert isinstance(refused, services.MailRefused)
    assert "not an e-mail message" in str(refused)
    assert gmail.message.interaction.organizations.get() == world.visa
    assert MailMessage.objects.count() == 3
    assert all(m.history.count() == 1 for m in MailMessage.objects.all())


def test_the_same_message_twice_in_one_batch_is_one_record(world):
    raw = corpus("outlook_fr_forward.eml")

    first, second = services.mail_receive_many([raw, raw], door="upload")

    assert first.created and not second.created
    assert second.message == first.message
    assert MailMessage.objects.count() == 1
    assert Interaction.objects.count() == 1


def test_the_same_attachment_in_two_messages_of_a_batch_is_stored_once(world):
    forward = corpus("outlook_fr_forward.eml")
    again = forward.replace(b"Message-ID: <", b"Message-ID: <again-").replace(
        b"Note conceptuelle \xe2\x80\x93", b"Note conceptuelle (bis) \xe2\x80\x93"
    )
    assert again != forward

    first, second = services.mail_receive_many([forward, again], door="upload")

    [document] = Document.objects.all()
    assert list(first.message.documents.all()) == [document]
    assert list(second.message.documents.all()) == [document]
    assert document.interaction == first.message.interaction


def test_an_invitation_and_its_update_in_one_batch_give_one_moved_meeting(world):
    request, update = services.mail_receive_many(
        [corpus("invitation_request.eml"), corpus("invitation_update.eml")], door="mailbox"
    )

    assert update.message.interaction == request.message.interaction
    meeting = Interaction.objects.get()
    assert meeting.history.filter(history_change_reason="Invitation updated").exists()


def test_a_message_that_fails_to_be_written_costs_no_other(world, monkeypatch):
    meeting = mail_services._meeting

    def fail_for_two(incoming, *args, **kwargs):
        if b"BATCH-2" in incoming.raw:
            raise RuntimeError("the document store is down")
        return meeting(incoming, *args, **kwargs)

    monkeypatch.setattr(mail_services, "_meeting", fail_for_two)

    one, two, three = services.mail_receive_many([reply(1), reply(2), reply(3)], door="mailbox")

    assert isinstance(two, RuntimeError)
    assert one.message.status == three.message.status == MailMessage.Status.FILED
    assert sorted(MailMessage.objects.values_list("subject", flat=True)) == [
        "Re: Pilot timeline 1",
        "Re: Pilot timeline 3",
    ]
    assert Interaction.objects.count() == 2


def test_a_single_message_that_fails_raises_from_mail_receive(world, monkeypatch):
    monkeypatch.setattr(
        mail_services, "_meeting", lambda *args, **kwargs: (_ for _ in ()).throw(KeyError("x"))
    )

    with pytest.raises(KeyError):
        services.mail_receive(raw=reply(1), door="mailbox")
    assert not MailMessage.objects.exists()


def _statements(raws: list[bytes]) -> int:
    with CaptureQueriesContext(connection) as captured:
        outcomes = services.mail_receive_many(raws, door="upload")
    assert all(isinstance(o, services.MailReceipt) and o.created for o in outcomes)
    return len(captured)


def test_a_batch_costs_the_same_statements_whatever_its_number_of_messages(world):
    def mixed(start: int, count: int) -> list[bytes]:
        # Filed replies from Mary, replies from a newcomer, which wait, and
        # forwards of Jean's note, each with a PDF of its own.
        return [
            reply(n, sender=b"Nadia Test <nadia.test@visa.com>")
            if n % 3 == 0
            else reply(n)
            if n % 3 == 1
            else forward_with_its_own_pdf(n)
            for n in range(start, start + count)
        ]

    few = _statements(mixed(100, 3))
    many = _statements(mixed(200, 20))

    assert many == few
    assert MailMessage.objects.filter(status=MailMessage.Status.FILED).count() == 2 + 13
    assert Document.objects.count() == 1 + 7
