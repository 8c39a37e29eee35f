"""The mail messages' admin: a read-only record whose actions file and discard through services.

The changelist, its query count, the read-only change page and the privacy of
bodies are also covered by tests/test_admin.py's tests of every model.
"""

from unittest import mock

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse
from django.utils import translation

from crm import services
from crm.admin.mail import MailMessageAdmin
from crm.models import Interaction, MailMessage
from tests.factories import InteractionFactory
from tests.mail_helpers import mail_world, newcomer_reply

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:crm_mailmessage_changelist")


@pytest.fixture(autouse=True)
def in_english(settings):
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


def change_url(message: MailMessage) -> str:
    return reverse("admin:crm_mailmessage_change", args=[message.pk])


def make_message(subject="Pilot timeline", *, status=MailMessage.Status.TO_FILE, **fields):
    values = {
        "fingerprint": f"mid:{subject}:{status}",
        "from_name": "Mary Test",
        "from_address": "mary.test@visa.com",
        "subject": subject,
        "body": "Dear Ama, the merchant list is attached. Cordialement, Mary",
        "door": MailMessage.Door.UPLOAD,
        "status": status,
        "reason": "The sender is not on file.",
        **fields,
    }
    if status == MailMessage.Status.FILED and "interaction" not in values:
        values["interaction"] = InteractionFactory(title=subject)
    if status == MailMessage.Status.DISCARDED and "discard_reason" not in values:
        values["discard_reason"] = "Spam"
    return MailMessage.objects.create(**values)


def post_action(client, action: str, messages, **extra):
    data = {"action": action, ACTION_CHECKBOX_NAME: [m.pk for m in messages], **extra}
    return client.post(CHANGELIST, data)


def shown(response) -> list[MailMessage]:
    return list(response.context["cl"].result_list)


# The list.


def test_changelist_shows_status_door_sender_subject_and_meeting(client, coordinator):
    filed = make_message("Concept note", status=MailMessage.Status.FILED)
    client.force_login(coordinator)

    response = client.get(CHANGELIST)

    assert shown(response) == [filed]
    assert "Concept note" in response.text
    assert "mary.test@visa.com" in response.text
    assert "Filed" in response.text
    assert "Upload" in response.text
    assert filed.interaction.title in response.text
    assert response.context["cl"].list_select_related == ["interaction"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"status__exact": "to_file"}, ["waiting"]),
        ({"status__exact": "discarded"}, ["discarded"]),
        ({"door__exact": "api"}, ["from the API"]),
        ({"door__exact": "mailbox"}, []),
    ],
)
def test_changelist_filters_by_status_and_door(client, coordinator, query, expected):
    make_message("waiting")
    make_message("discarded", status=MailMessage.Status.DISCARDED)
    make_message("from the API", status=MailMessage.Status.FAILED, door=MailMessage.Door.API)
    client.force_login(coordinator)

    response = client.get(CHANGELIST, query)

    assert [m.subject for m in shown(response)] == expected


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("timeline", ["Pilot timeline"]),  # part of the subject
        ("STANFORD.EDU", ["Campus visit"]),  # part of the sender's address, any case
        ("merchant", []),  # in every body: bodies are never searched
        ("nowhere", []),
    ],
)
def test_search_reads_subject_and_sender_never_the_body(client, coordinator, term, expected):
    make_message("Pilot timeline")
    make_message("Campus visit", fingerprint="mid:campus", from_address="paul.test@stanford.edu")
    client.force_login(coordinator)

    response = client.get(CHANGELIST, {"q": term})

    assert [m.subject for m in shown(response)] == expected


def test_search_fields_are_short_columns_only():
    assert MailMessageAdmin.search_fields == ["subject", "from_address"]


def test_admin_search_is_served_by_trigram_indexes(postgres_only, rf, coordinator):
    from django.db import connection

    make_message("Pilot timeline")
    request = rf.get(CHANGELIST)
    request.user = coordinator
    model_admin = MailMessageAdmin(MailMessage, None)
    queryset, _ = model_admin.get_search_results(request, MailMessage.objects.all(), "visa")

    sql, params = queryset.order_by().query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())

    # Subject and sender folded and joined (migration 0035), as the staff search does.
    assert "crm_mailmessage_admin_fold_trgm" in plan
    assert "Seq Scan on crm_mailmessage" not in plan


# The record: read-only, never added or deleted.


def test_change_page_is_read_only_for_everyone(client, coordinator):
    message = make_message()
    client.force_login(coordinator)

    page = client.get(change_url(message))
    posted = client.post(change_url(message), {"subject": "Changed", "status": "filed"})

    assert page.status_code == 200
    assert list(page.context["adminform"].form.fields) == []  # every field shown read-only
    assert "Pilot timeline" in page.text
    assert posted.status_code == 403
    message.refresh_from_db()
    assert (message.subject, message.status) == ("Pilot timeline", MailMessage.Status.TO_FILE)


def test_nobody_adds_or_deletes_mail_in_the_admin(client, coordinator):
    filed = make_message(status=MailMessage.Status.FILED)
    client.force_login(coordinator)

    assert client.get(reverse("admin:crm_mailmessage_add")).status_code == 403
    delete = reverse("admin:crm_mailmessage_delete", args=[filed.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert client.get(delete).status_code == 403
    response = post_action(client, "delete_selected", [filed], post="yes")

    assert response.status_code == 302  # no such action: Django says so and goes back
    assert MailMessage.objects.filter(pk=filed.pk).exists()


def test_read_only_sees_the_parties_but_not_the_body(client, reader):
    message = make_message()
    client.force_login(reader)

    response = client.get(change_url(message))

    assert response.status_code == 200
    assert "mary.test@visa.com" in response.text
    assert "merchant list" not in response.text
    assert "field-body" not in response.text


def test_staff_read_the_body(client, staff_user):
    message = make_message()
    client.force_login(staff_user)

    response = client.get(change_url(message))

    assert "merchant list" in response.text


def test_read_only_has_no_action_and_staff_has_file_and_discard(client, reader, staff_user):
    make_message()

    client.force_login(reader)
    reader_page = client.get(CHANGELIST)
    client.force_login(staff_user)
    staff_page = client.get(CHANGELIST)

    assert reader_page.context["action_form"] is None
    actions = {name for name, _label in staff_page.context["action_form"].fields["action"].choices}
    assert actions == {"", "file", "discard"}


# The actions go through the services.


def test_discard_asks_for_a_reason_first(client, staff_user):
    message = make_message()
    client.force_login(staff_user)

    page = post_action(client, "discard", [message])
    empty = post_action(client, "discard", [message], post="yes", reason="")

    for response in (page, empty):
        assert response.status_code == 200
        assert "reason" in response.context["form"].fields
    message.refresh_from_db()
    assert message.status == MailMessage.Status.TO_FILE


def test_discard_goes_through_the_service_and_leaves_filed_mail_alone(client, staff_user):
    waiting = make_message("waiting")
    filed = make_message("filed", status=MailMessage.Status.FILED)
    client.force_login(staff_user)

    with mock.patch.object(services, "mail_discard", wraps=services.mail_discard) as discard:
        response = post_action(
            client, "discard", [waiting, filed], post="yes", reason="Newsletter"
        )

    assert response.status_code == 302
    assert {call.kwargs["message"].pk for call in discard.call_args_list} == {waiting.pk, filed.pk}
    assert all(call.kwargs["by"] == staff_user for call in discard.call_args_list)
    waiting.refresh_from_db()
    filed.refresh_from_db()
    assert (waiting.status, waiting.discard_reason) == (MailMessage.Status.DISCARDED, "Newsletter")
    assert waiting.history.latest().history_user == staff_user
    assert filed.status == MailMessage.Status.FILED
    notes = [str(m) for m in response.wsgi_request._messages]
    assert "1 message discarded." in notes
    assert "Left as it was (1): This message is not waiting to be filed any more." in notes


def test_file_files_a_waiting_message_with_the_chosen_organisation(client, staff_user):
    world = mail_world()
    message = services.mail_receive(raw=newcomer_reply(), door="upload").message
    assert message.status == MailMessage.Status.TO_FILE
    client.force_login(staff_user)

    with mock.patch.object(services, "mail_file", wraps=services.mail_file) as file:
        page = post_action(client, "file", [message])
        response = post_action(client, "file", [message], post="yes", organization=world.visa.pk)

    assert page.status_code == 200
    assert "organization" in page.context["form"].fields
    assert response.status_code == 302
    file.assert_called_once()
    assert file.call_args.kwargs["organization"] == world.visa
    message.refresh_from_db()
    assert message.status == MailMessage.Status.FILED
    meeting = message.interaction
    assert meeting.kind == Interaction.Kind.EMAIL
    assert list(meeting.organizations.all()) == [world.visa]
