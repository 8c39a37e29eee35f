"""Mail into the record: each message of the corpus (tests/mail/) and the meeting it becomes."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from crm import services
from crm.models import Document, Interaction, LastInteraction, MailMessage, Partnership
from tests.factories import PartnershipFactory, PersonFactory
from tests.mail_helpers import corpus, mail_world

pytestmark = pytest.mark.django_db

LOME = ZoneInfo("Africa/Lome")


@pytest.fixture
def world():
    return mail_world()


@pytest.fixture(autouse=True)
def in_english():
    """Reasons are written in the active language: these tests read the English."""
    with translation.override("en"):
        yield


def receive(name: str, *, door: str = "upload", by=None) -> services.MailReceipt:
    return services.mail_receive(raw=corpus(name), door=door, by=by)


def test_acceptance_outlook_french_forward_becomes_one_meeting_with_its_pdf(world, staff_user):
    receipt = receive("outlook_fr_forward.eml", by=staff_user)

    message = receipt.message
    assert receipt.created
    assert message.status == MailMessage.Status.FILED
    meeting = message.interaction
    assert meeting.kind == Interaction.Kind.EMAIL
    assert meeting.occurred_on == date(2025, 10, 14)  # the original's, not the forward's
    assert meeting.title == "Note conceptuelle – paiements numériques"
    assert list(meeting.organizations.all()) == [world.mastercard]
    assert list(meeting.people.all()) == [world.jean]
    assert set(meeting.staff.all()) == {world.ama, world.kofi}
    assert meeting.created_by == world.ama  # the forwarding colleague filed it
    assert message.filed_by == world.ama
    assert message.received_by == staff_user
    assert message.from_address == "jean.test@mastercard.com"
    [document] = meeting.documents.all()
    assert document.original_name == "Note conceptuelle - paiements.pdf"
    assert document.content_type == Document.Type.PDF
    assert list(message.documents.all()) == [document]
    assert "Comme convenu lors de notre appel" in meeting.summary


def test_acceptance_uploading_the_forward_again_changes_nothing(world, staff_user):
    first = receive("outlook_fr_forward.eml", by=staff_user)

    again = receive("outlook_fr_forward.eml", by=staff_user)

    assert not again.created
    assert again.message == first.message
    assert Interaction.objects.count() == 1
    assert Document.objects.count() == 1
    assert MailMessage.objects.count() == 1


def test_outlook_forward_skips_the_inline_logo(world):
    message = receive("outlook_fr_forward.eml").message

    assert message.interaction.documents.count() == 1
    assert not any(item["name"] == "image001.png" for item in message.skipped_attachments)


def test_gmail_english_forward_is_filed_with_visa_on_the_original_date(world):
    message = receive("gmail_en_forward.eml").message

    assert message.status == MailMessage.Status.FILED
    assert message.interaction.occurred_on == date(2025, 10, 7)
    assert message.interaction.title == "Call follow-up"
    assert list(message.interaction.organizations.all()) == [world.visa]
    assert message.filed_by == world.kofi
    assert message.from_name == "Mary Test"


def test_apple_mail_reply_keeps_quoted_history_in_the_body_not_the_summary(world):
    message = receive("apple_reply.eml").message

    assert message.status == MailMessage.Status.FILED
    assert message.interaction.occurred_on == date(2025, 10, 9)
    assert message.interaction.title == "Pilot timeline"
    assert "Could you confirm" in message.body
    assert "Partnerships, Visa" in message.body
    assert "Could you confirm" not in message.summary
    assert "Partnerships, Visa" not in message.summary
    assert message.summary.startswith("Hi Ama,")
    assert message.filed_by is None  # uploaded by nobody, sent by a partner


def test_thunderbird_forward_as_attachment_takes_the_attached_original(world):
    message = receive("thunderbird_attached.eml").message

    assert message.message_id == "<agenda-2025-test@stanford.edu>"
    # 14:00 in California is 21:00 in Lomé, the same day.
    assert message.interaction.occurred_on == date(2025, 9, 29)
    assert list(message.interaction.organizations.all()) == [world.stanford]
    assert message.filed_by == world.kofi


def test_windows_1252_body_and_subject_are_read(world):
    message = receive("windows1252.eml").message

    assert message.subject == "Budget prévisionnel – étape 2"
    assert "l’étape 2 s’élève à 120 000 €" in message.body
    assert message.interaction.organizations.get() == world.mastercard


def test_html_only_message_is_turned_into_text(world):
    message = receive("html_only.eml").message

    assert message.subject == "Réunion du mois prochain"
    assert "réunion le 12 novembre à Lomé (coût estimé : 500 €)" in message.body
    assert "<p>" not in message.body
    assert "alert(1)" not in message.body
    assert "color: red" not in message.body


def test_invitation_becomes_a_planned_meeting_at_its_time_in_lome(world):
    message = receive("invitation_request.eml").message

    meeting = message.interaction
    assert message.status == MailMessage.Status.FILED
    assert meeting.kind == Interaction.Kind.MEETING
    assert meeting.title == "Appel Mastercard – paiements au port"
    assert meeting.occurred_on == date(2025, 11, 5)
    # 15:00 in Paris (winter time) is 14:00 in Lomé.
    assert meeting.starts_at.astimezone(LOME) == datetime(2025, 11, 5, 14, 0, tzinfo=LOME)
    assert not meeting.is_cancelled
    assert meeting.location == "Microsoft Teams"
    assert set(meeting.staff.all()) == {world.ama}
    assert list(meeting.people.all()) == [world.jean]


def test_an_invitation_update_moves_the_meeting_to_its_new_place(world):
    planned = receive("invitation_request.eml").message.interaction
    moved = corpus("invitation_update.eml").replace(
        b"LOCATION:Microsoft Teams", b"LOCATION:Port autonome de Lom\xc3\xa9"
    )

    services.mail_receive(raw=moved, door="upload")

    planned.refresh_from_db()
    assert planned.location == "Port autonome de Lomé"


def test_invitation_update_moves_the_planned_meeting_and_cancel_marks_it(world):
    planned = receive("invitation_request.eml").message.interaction

    receive("invitation_update.eml")
    planned.refresh_from_db()
    assert planned.occurred_on == date(2025, 11, 6)
    assert planned.starts_at.astimezone(LOME).hour == 9
    assert not planned.is_cancelled

    cancel = receive("invitation_cancel.eml").message
    planned.refresh_from_db()
    assert planned.is_cancelled
    assert cancel.interaction == planned
    assert Interaction.objects.count() == 1
    assert MailMessage.objects.filter(interaction=planned).count() == 3


def test_follow_ups_can_be_added_to_a_planned_meeting(world):
    planned = receive("invitation_request.eml").message.interaction

    follow_up = services.follow_up_create(
        by=world.ama,
        title="Envoyer l'ordre du jour",
        interaction=planned,
        organization=world.mastercard,
        project=PartnershipFactory(organization=world.mastercard).project,
        due_on=date(2025, 11, 4),
        assignee=world.ama,
    )

    assert follow_up.interaction == planned


def test_unknown_sender_at_a_known_domain_waits_to_be_filed(world):
    raw = corpus("windows1252.eml").replace(
        b"jean.test@mastercard.com", b"new.test@mastercard.com"
    )

    message = services.mail_receive(raw=raw, door="upload").message

    assert message.status == MailMessage.Status.TO_FILE
    assert message.interaction is None
    assert "new.test@mastercard.com is not on file" in message.reason_display
    assert message.organization == world.mastercard


def test_sender_at_an_unknown_domain_waits_to_be_filed(world):
    raw = corpus("apple_reply.eml").replace(b"mary.test@visa.com", b"someone@unknown-test.org")

    message = services.mail_receive(raw=raw, door="upload").message

    assert message.status == MailMessage.Status.TO_FILE
    assert message.reason_display == (
        "No organisation on file matches the addresses of this message."
    )


def test_several_organisations_wait_to_be_filed(world):
    raw = corpus("apple_reply.eml").replace(
        b"To: Ama Mensah", b"Cc: Jean Test <jean.test@mastercard.com>\r\nTo: Ama Mensah"
    )

    message = services.mail_receive(raw=raw, door="upload").message

    assert message.status == MailMessage.Status.TO_FILE
    assert message.reason_display == "Several organisations match: Mastercard, Visa."


def test_project_is_the_organisations_only_partnership_not_closed(world):
    partnership = PartnershipFactory(organization=world.visa)
    PartnershipFactory(organization=world.visa, stage=Partnership.Stage.CLOSED)

    message = receive("apple_reply.eml").message

    assert list(message.interaction.projects.all()) == [partnership.project]


def test_no_project_when_the_organisation_has_two_partnerships(world):
    PartnershipFactory(organization=world.visa)
    PartnershipFactory(organization=world.visa)

    message = receive("apple_reply.eml").message

    assert message.interaction.projects.count() == 0


def test_filed_mail_moves_the_partnerships_last_contact(world):
    partnership = PartnershipFactory(organization=world.visa)

    receive("apple_reply.eml")

    assert LastInteraction.objects.get(organization=world.visa).occurred_on == date(2025, 10, 9)
    annotated = Partnership.objects.with_last_contact(today=date(2026, 1, 15)).get(
        pk=partnership.pk
    )
    assert annotated.last_contact_on == date(2025, 10, 9)


def test_copy_and_inline_forward_of_the_same_message_give_one_meeting(world):
    # Mary's message received directly (a copy to the mailbox)...
    copy = (
        b"From: Mary Test <mary.test@visa.com>\r\nTo: Kofi Test <kofi.test@mcc-togo.example>\r\n"
        b"Subject: Call follow-up\r\nDate: Tue, 07 Oct 2025 16:15:40 +0000\r\n"
        b"Message-ID: <call-follow-up-original@visa.com>\r\n\r\nDear Kofi,\r\n"
    )
    first = services.mail_receive(raw=copy, door="mailbox")

    # ...and forwarded inline by Kofi (which loses its Message-ID).
    forward = receive("gmail_en_forward.eml")

    assert first.created and not forward.created
    assert forward.message == first.message
    assert Interaction.objects.count() == 1


def test_two_colleagues_forwarding_the_same_message_give_one_meeting(world):
    receive("gmail_en_forward.eml")
    by_ama = (
        corpus("gmail_en_forward.eml")
        .replace(b"From: Kofi Test <kofi.test@", b"From: Ama Mensah <ama.mensah@")
        .replace(b"CAJx9k2Q-gmail-forward-visa", b"ama-forwarded-it-too")
        .replace(b"FYI, for the Visa record.", b"Pour info.")
    )

    again = services.mail_receive(raw=by_ama, door="upload")

    assert not again.created
    assert Interaction.objects.count() == 1


def test_same_attachment_in_two_messages_is_stored_once(world):
    receive("outlook_fr_forward.eml")
    other = (
        corpus("outlook_fr_forward.eml")
        .replace(b"AM0PR01MB1234.outlook.fr-forward", b"another-forward")
        .replace(b"mardi 14 octobre 2025 10:32", b"jeudi 16 octobre 2025 11:00")
    )

    message = services.mail_receive(raw=other, door="upload").message

    assert Interaction.objects.count() == 2
    assert Document.objects.count() == 1
    assert message.documents.count() == 1


def test_filing_a_waiting_message_with_an_organisation_and_project(world, staff_user):
    raw = corpus("apple_reply.eml").replace(b"mary.test@visa.com", b"someone@unknown-test.org")
    message = services.mail_receive(raw=raw, door="upload").message
    project = PartnershipFactory(organization=world.visa).project

    services.mail_file(message=message, organization=world.visa, project=project, by=staff_user)

    message.refresh_from_db()
    assert message.status == MailMessage.Status.FILED
    assert list(message.interaction.organizations.all()) == [world.visa]
    assert list(message.interaction.projects.all()) == [project]
    assert message.interaction.created_by == staff_user


def test_creating_the_sender_files_the_message_with_the_new_person(world, staff_user):
    raw = corpus("windows1252.eml").replace(
        b"jean.test@mastercard.com", b"new.test@mastercard.com"
    )
    message = services.mail_receive(raw=raw, door="upload").message

    services.mail_create_sender(message=message, organization=world.mastercard, by=staff_user)

    message.refresh_from_db()
    person = message.interaction.people.get()
    assert (person.given_name, person.family_name, person.email) == (
        "Jean",
        "Test",
        "new.test@mastercard.com",
    )
    assert person.affiliations.get().organization == world.mastercard
    assert message.status == MailMessage.Status.FILED


def test_creating_a_sender_already_on_file_is_refused(world, staff_user):
    raw = corpus("windows1252.eml").replace(
        b"jean.test@mastercard.com", b"new.test@mastercard.com"
    )
    message = services.mail_receive(raw=raw, door="upload").message
    PersonFactory(email="NEW.test@mastercard.com")

    with pytest.raises(ValidationError, match="on file already"):
        services.mail_create_sender(message=message, organization=world.mastercard, by=staff_user)


def test_discarding_needs_a_reason_and_takes_the_message_out_of_the_list(world, staff_user):
    raw = corpus("apple_reply.eml").replace(b"mary.test@visa.com", b"someone@unknown-test.org")
    message = services.mail_receive(raw=raw, door="upload").message

    with pytest.raises(ValidationError):
        services.mail_discard(message=message, reason=" ", by=staff_user)
    services.mail_discard(message=message, reason="Newsletter", by=staff_user)

    message.refresh_from_db()
    assert message.status == MailMessage.Status.DISCARDED
    assert message.discard_reason == "Newsletter"
    assert not MailMessage.objects.waiting().exists()


def test_a_filed_message_cannot_be_filed_again(world, staff_user):
    message = receive("apple_reply.eml").message

    with pytest.raises(ValidationError, match="not waiting"):
        services.mail_file(message=message, organization=world.visa, by=staff_user)


def test_record_failure_is_replaced_by_a_later_successful_retry(world):
    raw = corpus("apple_reply.eml")
    failure = services.mail_record_failure(raw=raw, door="mailbox", error="database went away")
    assert failure.status == MailMessage.Status.FAILED
    assert failure.error == "database went away"
    assert failure.subject == "Re: Pilot timeline"
    assert failure.is_waiting

    again = services.mail_record_failure(raw=raw, door="mailbox", error="still down")
    assert again.pk == failure.pk
    assert MailMessage.objects.get().error == "still down"

    receipt = services.mail_receive(raw=raw, door="mailbox")
    assert receipt.message.status == MailMessage.Status.FILED
    assert MailMessage.objects.count() == 1


def test_record_failure_of_a_message_filed_already_leaves_it_filed(world):
    filed = receive("apple_reply.eml").message

    services.mail_record_failure(raw=corpus("apple_reply.eml"), door="mailbox", error="late")

    filed.refresh_from_db()
    assert filed.status == MailMessage.Status.FILED
    assert filed.error == ""


def unknown_at_mastercard() -> bytes:
    """Jean's message, from a colleague of his not on file."""
    return corpus("windows1252.eml").replace(b"jean.test@", b"new.test@")


def test_the_reason_a_message_waits_is_said_in_the_readers_language(world, client, staff_user):
    from tests.mail_helpers import newcomer_reply

    with translation.override("fr"):  # the mailbox's run, at night
        message = services.mail_receive(raw=newcomer_reply(), door="mailbox").message

    assert message.reason_display == (
        "nadia.test@visa.com is not on file as a person, though Visa is known."
    )
    with translation.override("fr"):
        assert message.reason_display == (
            "nadia.test@visa.com n’est pas enregistré comme personne, bien que Visa soit connue."
        )
    client.force_login(staff_user)
    assert "bien que Visa soit connue" in client.get("/mail/").content.decode()
    client.cookies["django_language"] = "en"
    assert "though Visa is known" in client.get("/mail/").content.decode()


def test_a_refusal_is_said_in_the_readers_language(world):
    with translation.override("fr"):
        message = services.mail_receive(raw=b"pas un courriel", door="mailbox").message

    assert message.status == MailMessage.Status.REFUSED
    assert message.error_display == "This is not an e-mail message (no mail headers were found)."
