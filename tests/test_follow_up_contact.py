"""A follow-up marked done may have been a contact with the partner, and then counts as one.

"Note sent by e-mail": ticking "This was a contact with the partner" logs an
interaction (through the services, in the same transaction), so the
partnership's last contact moves and it is no longer "gone quiet".
"""

from datetime import timedelta

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError

from crm import services
from crm.models import FollowUp, Interaction, Partnership
from crm.versions import version_of
from tests import factories
from tests.conftest import TODAY

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("pages_today")]


@pytest.fixture(autouse=True)
def english(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"


@pytest.fixture
def quiet_partnership():
    """Visa × payments, last met 31 days ago with a 20-day cadence: gone quiet."""
    partnership = factories.PartnershipFactory(
        organization=factories.OrganizationFactory(slug="visa", name="Visa"),
        project=factories.ProjectFactory(code="payments"),
        contact_cadence_days=20,
    )
    factories.InteractionFactory(
        organizations=[partnership.organization], occurred_on=TODAY - timedelta(days=31)
    )
    return partnership


@pytest.fixture
def follow_up(quiet_partnership, staff_user):
    return factories.FollowUpFactory(
        title="Send the concept note",
        organization=quiet_partnership.organization,
        project=quiet_partnership.project,
        person=factories.PersonFactory(),
        assignee=staff_user,
    )


def gone_quiet() -> list[Partnership]:
    return list(Partnership.objects.gone_quiet(today=TODAY))


def last_contact(partnership) -> object:
    return (
        Partnership.objects.with_last_contact(today=TODAY).get(pk=partnership.pk).last_contact_on
    )


def done_url(follow_up) -> str:
    return f"/follow-ups/{follow_up.pk}/done/"


def test_done_as_a_contact_logs_one_interaction_with_the_partner(
    client, staff_user, follow_up, quiet_partnership
):
    client.force_login(staff_user)
    before = Interaction.objects.count()

    response = client.post(
        done_url(follow_up), {"completion_note": "Note sent by e-mail.", "contact": "on"}
    )

    assert response.status_code == 302
    assert Interaction.objects.count() == before + 1
    follow_up.refresh_from_db()
    contact = follow_up.completion_contact
    assert follow_up.status == FollowUp.Status.DONE
    assert (contact.kind, contact.occurred_on, contact.title, contact.summary) == (
        Interaction.Kind.OTHER,
        TODAY,
        "Send the concept note",
        "Note sent by e-mail.",
    )
    assert list(contact.organizations.all()) == [quiet_partnership.organization]
    assert list(contact.projects.all()) == [quiet_partnership.project]
    assert list(contact.people.all()) == [follow_up.person]
    assert list(contact.staff.all()) == [staff_user]
    assert contact.created_by == staff_user


def test_done_as_a_contact_moves_the_last_contact_and_ends_the_quiet(
    client, staff_user, follow_up, quiet_partnership
):
    assert gone_quiet() == [quiet_partnership]
    client.force_login(staff_user)

    client.post(done_url(follow_up), {"completion_note": "Note sent by e-mail.", "contact": "on"})

    assert last_contact(quiet_partnership) == TODAY
    assert gone_quiet() == []


def test_done_without_the_box_ticked_is_no_contact(
    client, staff_user, follow_up, quiet_partnership
):
    client.force_login(staff_user)
    before = Interaction.objects.count()

    response = client.post(done_url(follow_up), {"completion_note": "Asked a colleague."})

    follow_up.refresh_from_db()
    assert response.status_code == 302 and follow_up.status == FollowUp.Status.DONE
    assert follow_up.completion_contact is None
    assert Interaction.objects.count() == before
    assert last_contact(quiet_partnership) == TODAY - timedelta(days=31)
    assert gone_quiet() == [quiet_partnership]


def test_the_follow_up_page_links_the_contact_logged(client, staff_user, follow_up):
    services.follow_up_complete(
        follow_up=follow_up, by=staff_user, note="Note sent by e-mail.", contact=True
    )
    client.force_login(staff_user)

    response = client.get(f"/follow-ups/{follow_up.pk}/")

    contact = FollowUp.objects.get(pk=follow_up.pk).completion_contact
    assert f'<a href="{contact.get_absolute_url()}">Send the concept note</a>' in response.text
    assert "Logged as a contact with the partner" in response.text


def test_the_box_is_offered_only_when_the_follow_up_names_an_organisation(
    client, staff_user, follow_up
):
    alone = factories.FollowUpFactory(title="Internal memo", assignee=staff_user)
    client.force_login(staff_user)

    for page in (f"/follow-ups/{follow_up.pk}/", done_url(follow_up)):
        assert 'name="contact"' in client.get(page).text, page
    for page in (f"/follow-ups/{alone.pk}/", done_url(alone)):
        assert 'name="contact"' not in client.get(page).text, page


def test_the_box_is_unticked_by_default(client, staff_user, follow_up):
    client.force_login(staff_user)

    text = client.get(done_url(follow_up)).text

    field = text[text.index('name="contact"') - 80 : text.index('name="contact"') + 80]
    assert "checked" not in field


def test_done_twice_keeps_what_was_typed_and_logs_nothing_more(
    client, staff_user, coordinator, follow_up
):
    # Marked done in another tab (or by a colleague) meanwhile.
    services.follow_up_complete(follow_up=follow_up, by=coordinator, note="Called them.")
    client.force_login(staff_user)
    before = Interaction.objects.count()

    response = client.post(
        done_url(follow_up), {"completion_note": "Note sent by e-mail.", "contact": "on"}
    )

    assert response.status_code == 200
    assert "already Done" in response.text
    assert "Note sent by e-mail." in response.text  # What was typed is still there.
    assert Interaction.objects.count() == before
    follow_up.refresh_from_db()
    assert (follow_up.completion_note, follow_up.completion_contact) == ("Called them.", None)


def test_a_contact_without_a_note_is_refused_and_nothing_is_logged(client, staff_user, follow_up):
    client.force_login(staff_user)
    before = Interaction.objects.count()

    response = client.post(done_url(follow_up), {"completion_note": "  ", "contact": "on"})

    assert response.status_code == 200
    assert Interaction.objects.count() == before
    assert FollowUp.objects.get(pk=follow_up.pk).status == FollowUp.Status.OPEN


def test_a_contact_with_no_organisation_is_refused_by_the_service(staff_user):
    alone = factories.FollowUpFactory()
    before = Interaction.objects.count()

    with pytest.raises(ValidationError) as refused:
        services.follow_up_complete(follow_up=alone, by=staff_user, note="Sent.", contact=True)

    assert "contact" in refused.value.message_dict
    assert Interaction.objects.count() == before
    assert FollowUp.objects.get(pk=alone.pk).status == FollowUp.Status.OPEN


def test_the_follow_up_stays_open_when_the_contact_cannot_be_logged(
    staff_user, follow_up, monkeypatch
):
    def refuse(**kwargs):
        raise ValidationError({"title": "Refused"})

    monkeypatch.setattr("crm.services.follow_ups.interaction_log", refuse)

    with pytest.raises(ValidationError):
        services.follow_up_complete(follow_up=follow_up, by=staff_user, note="Sent.", contact=True)

    assert FollowUp.objects.get(pk=follow_up.pk).status == FollowUp.Status.OPEN


def test_a_reader_can_neither_mark_done_nor_log_a_contact(client, reader, follow_up):
    client.force_login(reader)
    before = Interaction.objects.count()

    response = client.post(done_url(follow_up), {"completion_note": "Sent.", "contact": "on"})

    assert response.status_code == 403
    assert Interaction.objects.count() == before
    assert FollowUp.objects.get(pk=follow_up.pk).status == FollowUp.Status.OPEN


def test_reopening_lets_go_of_the_contact_which_stays_on_record(staff_user, follow_up):
    services.follow_up_complete(follow_up=follow_up, by=staff_user, note="Sent.", contact=True)
    contact = FollowUp.objects.get(pk=follow_up.pk).completion_contact

    services.follow_up_reopen(follow_up=follow_up, by=staff_user, reason="Bounced")

    assert FollowUp.objects.get(pk=follow_up.pk).completion_contact is None
    assert Interaction.objects.filter(pk=contact.pk).exists()


# The API's complete action.


def test_the_api_completes_as_a_contact(api_client, staff_user, follow_up, quiet_partnership):
    api_client.force_authenticate(staff_user)

    response = api_client.post(
        f"/api/v1/follow-ups/{follow_up.pk}/complete/",
        {"note": "Note sent by e-mail.", "contact": True},
        format="json",
    )

    assert response.status_code == 200, response.content
    contact = FollowUp.objects.get(pk=follow_up.pk).completion_contact
    assert contact.summary == "Note sent by e-mail."
    assert response.json()["completion_contact"] == contact.pk
    assert gone_quiet() == []


def test_the_api_completes_without_a_contact_by_default(api_client, staff_user, follow_up):
    api_client.force_authenticate(staff_user)
    before = Interaction.objects.count()

    response = api_client.post(
        f"/api/v1/follow-ups/{follow_up.pk}/complete/", {"note": "Sent."}, format="json"
    )

    assert response.status_code == 200
    assert Interaction.objects.count() == before


def test_the_api_refuses_a_stale_version_and_logs_nothing(api_client, staff_user, follow_up):
    stale = version_of(follow_up)
    services.follow_up_snooze(
        follow_up=follow_up, due_on=TODAY + timedelta(days=9), reason="Away", by=staff_user
    )
    api_client.force_authenticate(staff_user)
    before = Interaction.objects.count()

    response = api_client.post(
        f"/api/v1/follow-ups/{follow_up.pk}/complete/",
        {"note": "Sent.", "contact": True},
        format="json",
        HTTP_IF_MATCH=f'"{stale}"',
    )

    assert response.status_code == 412
    assert Interaction.objects.count() == before
    assert FollowUp.objects.get(pk=follow_up.pk).status == FollowUp.Status.OPEN


@pytest.mark.parametrize(
    ("payload", "field"),
    [({"note": "Sent.", "contact": "perhaps"}, "contact"), ({"contact": True}, "note")],
)
def test_the_api_refuses_invalid_input_and_logs_nothing(
    api_client, staff_user, follow_up, payload, field
):
    api_client.force_authenticate(staff_user)
    before = Interaction.objects.count()

    response = api_client.post(
        f"/api/v1/follow-ups/{follow_up.pk}/complete/", payload, format="json"
    )

    assert response.status_code == 400 and field in response.json()
    assert Interaction.objects.count() == before


def test_the_api_refuses_a_contact_for_a_follow_up_without_organisation(api_client, staff_user):
    alone = factories.FollowUpFactory()
    api_client.force_authenticate(staff_user)

    response = api_client.post(
        f"/api/v1/follow-ups/{alone.pk}/complete/",
        {"note": "Sent.", "contact": True},
        format="json",
    )

    assert response.status_code == 400 and "contact" in response.json()
    assert FollowUp.objects.get(pk=alone.pk).status == FollowUp.Status.OPEN


def test_a_reader_may_not_complete_through_the_api(api_client, reader, follow_up):
    api_client.force_authenticate(reader)

    response = api_client.post(
        f"/api/v1/follow-ups/{follow_up.pk}/complete/",
        {"note": "Sent.", "contact": True},
        format="json",
    )

    assert response.status_code == 403
    assert FollowUp.objects.get(pk=follow_up.pk).completion_contact is None
