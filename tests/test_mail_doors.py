"""The two web doors of mail (staff upload page, API) and "Courriels à classer"."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from crm import services
from crm.models import Interaction, MailMessage
from tests.mail_helpers import corpus, mail_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return mail_world()


@pytest.fixture(autouse=True)
def in_english(client, settings):
    """The pages in English, as the API client: these tests read the English strings."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"


def eml(name: str, data: bytes | None = None) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data if data is not None else corpus(name), "message/rfc822")


def unknown_sender() -> bytes:
    """Mary's reply as if from a colleague of hers not on file (another message)."""
    return (
        corpus("apple_reply.eml")
        .replace(b"mary.test@visa.com", b"new.test@visa.com")
        .replace(b"APPLE-REPLY", b"NEW-SENDER")
    )


# -- upload page ---------------------------------------------------------------


def test_upload_page_files_several_messages_and_lists_each(client, world, staff_user):
    client.force_login(staff_user)

    response = client.post(
        reverse("mail-upload"),
        {"messages": [eml("outlook_fr_forward.eml"), eml("reply.eml", unknown_sender())]},
    )

    assert response.status_code == 200
    page = response.content.decode()
    assert "outlook_fr_forward.eml" in page and "reply.eml" in page
    assert "filed as" in page
    assert "new.test@visa.com is not on file" in page
    assert MailMessage.objects.filter(door="upload").count() == 2


def test_upload_page_says_when_a_message_was_received_before(client, world, staff_user):
    client.force_login(staff_user)
    client.post(reverse("mail-upload"), {"messages": [eml("apple_reply.eml")]})

    response = client.post(reverse("mail-upload"), {"messages": [eml("apple_reply.eml")]})

    assert response.status_code == 200
    assert "already received" in response.content.decode()
    assert Interaction.objects.count() == 1


def test_upload_page_refuses_an_outlook_msg_file_asking_for_eml(client, world, staff_user):
    client.force_login(staff_user)
    msg = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600

    response = client.post(reverse("mail-upload"), {"messages": [eml("note.msg", msg)]})

    assert response.status_code == 400
    assert "save the message as .eml" in response.content.decode()
    assert not MailMessage.objects.exists()


def test_upload_page_refuses_a_message_over_the_limit_with_413(
    client, world, staff_user, settings
):
    settings.CRM_MAIL_MAX_BYTES = 2000
    client.force_login(staff_user)

    response = client.post(
        reverse("mail-upload"), {"messages": [eml("big.eml", b"Subject: x\r\n\r\n" + b"a" * 5000)]}
    )

    assert response.status_code == 413
    assert "larger than the limit" in response.content.decode()
    assert not MailMessage.objects.exists()


def test_upload_page_is_refused_to_read_only(client, world, reader):
    client.force_login(reader)

    assert client.get(reverse("mail-upload")).status_code == 403


# -- Courriels à classer -------------------------------------------------------


def test_mail_list_shows_waiting_messages_in_bounded_queries(client, world, staff_user):
    for index in range(3):
        raw = unknown_sender().replace(b"NEW-SENDER", f"APPLE-{index}".encode())
        raw = raw.replace(b"17:48:02", f"17:4{index}:00".encode())
        services.mail_receive(raw=raw, door="upload", by=staff_user)
    services.mail_receive(raw=corpus("apple_reply.eml"), door="upload")  # filed: not listed
    client.force_login(staff_user)

    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("mail"))

    assert response.status_code == 200
    assert len(response.context["page"].object_list) == 3
    listed = len(queries)
    services.mail_receive(
        raw=unknown_sender().replace(b"NEW-SENDER", b"APPLE-9").replace(b"17:48", b"18:48"),
        door="upload",
        by=staff_user,
    )
    with CaptureQueriesContext(connection) as queries:
        client.get(reverse("mail"))
    assert len(queries) == listed


def test_reader_sees_subject_and_parties_but_not_the_body(client, world, reader):
    message = services.mail_receive(raw=corpus("apple_reply.eml"), door="upload").message
    client.force_login(reader)

    page = client.get(message.get_absolute_url()).content.decode()

    assert "Re: Pilot timeline" in page
    assert "mary.test@visa.com" in page
    assert "pilot can start in January" not in page


def test_staff_see_the_full_body(client, world, staff_user):
    message = services.mail_receive(raw=corpus("apple_reply.eml"), door="upload").message
    client.force_login(staff_user)

    page = client.get(message.get_absolute_url()).content.decode()

    assert "pilot can start in January" in page
    assert "Could you confirm" in page  # the quoted history, kept in the body


def test_filing_from_the_page_by_creating_the_sender(client, world, staff_user):
    message = services.mail_receive(raw=unknown_sender(), door="upload").message
    client.force_login(staff_user)

    response = client.post(
        reverse("mail-file", args=[message.pk]),
        {"organization": world.visa.pk, "create_sender": "1"},
    )

    assert response.status_code == 302
    message.refresh_from_db()
    assert message.status == MailMessage.Status.FILED
    assert message.interaction.people.get().email == "new.test@visa.com"


def test_discarding_from_the_page_needs_a_reason(client, world, staff_user):
    message = services.mail_receive(raw=unknown_sender(), door="upload").message
    client.force_login(staff_user)

    assert client.post(reverse("mail-discard", args=[message.pk]), {}).status_code == 400
    response = client.post(reverse("mail-discard", args=[message.pk]), {"reason": "Spam"})

    assert response.status_code == 302
    message.refresh_from_db()
    assert message.status == MailMessage.Status.DISCARDED


def test_reader_cannot_file_or_discard(client, world, reader):
    message = services.mail_receive(raw=unknown_sender(), door="upload").message
    client.force_login(reader)

    url = reverse("mail-file", args=[message.pk])
    assert client.post(url, {"organization": world.visa.pk}).status_code == 403
    assert (
        client.post(reverse("mail-discard", args=[message.pk]), {"reason": "x"}).status_code == 403
    )


def test_organisation_form_normalises_email_domains_and_refuses_webmail(client, world, staff_user):
    from crm.forms import OrganizationForm

    form = OrganizationForm(
        {"name": "Acme", "kind": "company", "email_domains": "@Acme.COM; emea.acme.com"}
    )
    assert form.is_valid(), form.errors
    assert form.cleaned_data["email_domains"] == "acme.com,emea.acme.com"

    form = OrganizationForm({"name": "Acme", "kind": "company", "email_domains": "gmail.com"})
    assert not form.is_valid()
    assert "public webmail" in str(form.errors["email_domains"])
    form = OrganizationForm({"name": "Acme", "kind": "company", "email_domains": "yahoo.fr"})
    assert not form.is_valid()


# -- API -----------------------------------------------------------------------


def test_api_post_returns_201_then_200_for_the_same_message(api_client, world, staff_user):
    api_client.force_authenticate(staff_user)

    first = api_client.post(
        "/api/v1/mail/", {"message": eml("outlook_fr_forward.eml")}, format="multipart"
    )
    again = api_client.post(
        "/api/v1/mail/", {"message": eml("outlook_fr_forward.eml")}, format="multipart"
    )

    assert first.status_code == 201
    assert first.data["status"] == "filed"
    assert first.data["interaction"] == Interaction.objects.get().pk
    assert first.data["door"] == "api"
    assert again.status_code == 200
    assert again.data["id"] == first.data["id"]


def test_api_post_of_a_message_to_file_answers_with_its_status(api_client, world, staff_user):
    api_client.force_authenticate(staff_user)

    response = api_client.post(
        "/api/v1/mail/", {"message": eml("x.eml", unknown_sender())}, format="multipart"
    )

    assert response.status_code == 201
    assert response.data["status"] == "to_file"
    assert response.data["interaction"] is None
    assert "not on file" in response.data["reason"]


@pytest.mark.parametrize(
    "data",
    [b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, b"just some text", b""],
    ids=["msg", "not-mail", "empty"],
)
def test_api_refuses_what_is_not_mail_with_400(api_client, world, staff_user, data):
    api_client.force_authenticate(staff_user)

    response = api_client.post(
        "/api/v1/mail/", {"message": eml("x.eml", data)}, format="multipart"
    )

    assert response.status_code == 400
    assert "message" in response.data


def test_api_refuses_a_message_over_the_limit_with_413(api_client, world, staff_user, settings):
    settings.CRM_MAIL_MAX_BYTES = 2000
    api_client.force_authenticate(staff_user)

    response = api_client.post(
        "/api/v1/mail/",
        {"message": eml("x.eml", b"Subject: x\r\n\r\n" + b"a" * 5000)},
        format="multipart",
    )

    assert response.status_code == 413


def test_api_without_the_message_field_is_400(api_client, world, staff_user):
    api_client.force_authenticate(staff_user)

    assert api_client.post("/api/v1/mail/", {}, format="multipart").status_code == 400


def test_api_list_filters_by_status_and_hides_bodies_from_read_only(
    api_client, world, staff_user, reader
):
    services.mail_receive(raw=corpus("apple_reply.eml"), door="upload")
    services.mail_receive(raw=unknown_sender(), door="upload")

    api_client.force_authenticate(reader)
    response = api_client.get("/api/v1/mail/", {"status": "to_file"})
    assert response.status_code == 200
    [row] = response.data["results"]
    assert row["from_address"] == "new.test@visa.com"
    assert "body" not in row and "summary" not in row

    api_client.force_authenticate(staff_user)
    rows = api_client.get("/api/v1/mail/", {"status": "filed"}).data["results"]
    assert [row["subject"] for row in rows] == ["Re: Pilot timeline"]
    assert "pilot can start in January" in rows[0]["body"]


def test_api_post_is_refused_to_read_only(api_client, world, reader):
    api_client.force_authenticate(reader)

    response = api_client.post(
        "/api/v1/mail/", {"message": eml("apple_reply.eml")}, format="multipart"
    )

    assert response.status_code == 403


def test_api_organisation_email_domains_are_normalised(api_client, world, coordinator):
    api_client.force_authenticate(coordinator)
    url = f"/api/v1/organizations/{world.visa.pk}/"
    response = api_client.patch(url, {"email_domains": "Visa.com, @visa.co.uk"}, format="json")
    assert response.status_code == 200, response.data
    assert response.data["email_domains"] == "visa.com,visa.co.uk"

    response = api_client.patch(url, {"email_domains": "hotmail.fr"}, format="json")
    assert response.status_code == 400


# -- the planned meeting of an invitation ----------------------------------------------


def test_interaction_page_shows_an_invitation_s_start_time_then_that_it_is_cancelled(
    client, world, staff_user
):
    planned = services.mail_receive(raw=corpus("invitation_request.eml"), door="upload")
    interaction = planned.message.interaction
    client.force_login(staff_user)

    page = client.get(interaction.get_absolute_url()).content.decode()
    # 15:00 in Paris's winter time is 14:00 in Lomé.
    assert 'class="starts-at">14:00</time>' in page
    assert "Cancelled" not in page

    services.mail_receive(raw=corpus("invitation_cancel.eml"), door="upload")

    page = client.get(interaction.get_absolute_url()).content.decode()
    assert 'class="starts-at">14:00</time>' in page
    assert '<strong class="flag flag-verify cancelled">Cancelled</strong>' in page


def test_the_mail_api_checks_its_parameters_and_ids_like_every_resource(coordinator_api):
    message = services.mail_receive(raw=corpus("apple_reply.eml"), door="upload").message
    # The same id in Arabic-Indic digits, which int() would read as the id.
    arabic = str(message.pk).translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))

    unknown = coordinator_api.get("/api/v1/mail/?statut=filed")
    arabic_digit = coordinator_api.get(f"/api/v1/mail/{arabic}/")
    ascii_digit = coordinator_api.get(f"/api/v1/mail/{message.pk}/")

    assert unknown.status_code == 400
    assert "statut" in unknown.json()
    assert arabic_digit.status_code == 404
    assert ascii_digit.status_code == 200
