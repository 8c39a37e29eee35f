"""A page per partnership: where it stands and its history; its stage, owner and cadence
changed there through their services (issue 19: "/partnerships/<id>/" was a 404, owners
could be set only in the admin, by user name)."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm import services
from crm.models import Partnership
from crm.versions import version_of
from tests import factories

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("pages_today")]


@pytest.fixture(autouse=True)
def english(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"


@pytest.fixture
def visa(staff_user):
    organization = factories.OrganizationFactory(name="Visa", slug="visa")
    project = factories.ProjectFactory(code="payments", name="Digital payments")
    partnership = factories.PartnershipFactory(organization=organization, project=project)
    services.partnership_change_stage(
        partnership=partnership, to_stage="exploring", by=staff_user, note="Call with Mary"
    )
    factories.FollowUpFactory(
        title="Send the concept note", organization=organization, project=project
    )
    return Partnership.objects.get(pk=partnership.pk)


def test_the_page_shows_stage_history_follow_ups_and_who_owns_it(client, staff_user, visa):
    client.force_login(staff_user)

    response = client.get(f"/partnerships/{visa.pk}/")

    html = response.content.decode()
    assert response.status_code == 200
    assert "Visa" in html and "Digital payments" in html
    history = html[html.index('id="stage-history"') :]
    assert "Call with Mary" in history
    assert "Send the concept note" in html


def test_it_is_linked_from_the_organisation_the_project_and_the_dashboard(
    client, staff_user, visa
):
    client.force_login(staff_user)
    link = f'href="/partnerships/{visa.pk}/"'

    assert link in client.get("/organizations/visa/").content.decode()
    assert link in client.get("/projects/payments/").content.decode()


def test_staff_give_it_an_owner_chosen_by_name(client, staff_user, visa):
    colleague = factories.UserFactory(username="ama", first_name="Ama", last_name="Mensah")
    colleague.groups.add(*staff_user.groups.all())
    client.force_login(staff_user)
    page = client.get(f"/partnerships/{visa.pk}/").content.decode()
    assert ">Ama Mensah</option>" in page

    response = client.post(
        f"/partnerships/{visa.pk}/owner/",
        {"owner": colleague.pk, "reason": "Back from leave", "version": version_of(visa)},
    )

    visa.refresh_from_db()
    assert response.status_code == 302
    assert visa.owner == colleague
    assert visa.history.latest().history_change_reason == "Back from leave"


def test_staff_set_its_cadence_and_an_empty_one_is_the_stage_s_default(client, staff_user, visa):
    client.force_login(staff_user)

    client.post(
        f"/partnerships/{visa.pk}/cadence/",
        {"contact_cadence_days": "14", "version": version_of(visa)},
    )
    visa.refresh_from_db()
    assert visa.contact_cadence_days == 14
    client.post(
        f"/partnerships/{visa.pk}/cadence/",
        {"contact_cadence_days": "", "version": version_of(visa)},
    )
    visa.refresh_from_db()
    assert visa.contact_cadence_days is None


def test_a_change_decided_on_an_old_version_is_refused(client, staff_user, visa):
    client.force_login(staff_user)
    old = version_of(visa)
    services.partnership_change_stage(partnership=visa, to_stage="proposal", by=staff_user)

    response = client.post(
        f"/partnerships/{visa.pk}/cadence/",
        {"contact_cadence_days": "7", "version": old},
        follow=True,
    )

    visa.refresh_from_db()
    assert visa.contact_cadence_days is None
    assert "changed" in response.content.decode().lower()


def test_the_stage_moves_from_its_page_with_a_note_and_comes_back_to_it(client, staff_user, visa):
    client.force_login(staff_user)

    response = client.post(
        f"/partnerships/{visa.pk}/stage/",
        {
            "stage": "proposal",
            "note": "Concept note sent",
            "version": version_of(visa),
            "next": f"/partnerships/{visa.pk}/",
        },
    )

    visa.refresh_from_db()
    assert response["Location"] == f"/partnerships/{visa.pk}/"
    assert visa.stage == "proposal"
    assert visa.stage_changes.latest("changed_at").note == "Concept note sent"


def test_a_reader_sees_it_but_changes_nothing(client, reader, visa):
    client.force_login(reader)

    assert 'id="change"' not in client.get(f"/partnerships/{visa.pk}/").content.decode()
    assert client.post(f"/partnerships/{visa.pk}/cadence/", {}).status_code == 403


def test_the_page_takes_the_same_queries_whatever_its_history(client, staff_user, visa):
    client.force_login(staff_user)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(f"/partnerships/{visa.pk}/").status_code == 200
        return len(captured)

    few = queries()
    for _number in range(30):
        factories.FollowUpFactory(organization=visa.organization, project=visa.project)
        meeting = factories.InteractionFactory(organizations=[visa.organization])
        meeting.projects.add(visa.project)
    assert queries() == few


def test_a_next_follow_up_in_the_past_is_red_wherever_the_partnership_is_shown(
    client, staff_user, visa, today
):
    # Issue 19: an overdue "next follow-up" was not red on these pages.
    factories.FollowUpFactory(
        organization=visa.organization, project=visa.project, due_on=today - timedelta(days=3)
    )
    client.force_login(staff_user)

    for url in (f"/partnerships/{visa.pk}/", "/organizations/visa/", "/projects/payments/"):
        html = client.get(url).content.decode()
        assert '<span class="next-follow-up red" title="Overdue">' in html, url


def test_staff_correct_its_role_and_notes_on_an_edit_page(client, staff_user, visa):
    client.force_login(staff_user)
    page = client.get(f"/partnerships/{visa.pk}/").text
    form = client.get(f"/partnerships/{visa.pk}/edit/")

    response = client.post(
        f"/partnerships/{visa.pk}/edit/",
        {"role": "investor", "notes": "Met in San Francisco", "version": version_of(visa)},
    )

    assert f'href="/partnerships/{visa.pk}/edit/"' in page
    assert form.status_code == 200
    assert response.status_code == 302
    visa.refresh_from_db()
    assert (visa.role, visa.notes) == ("investor", "Met in San Francisco")
    assert visa.history.latest().history_user == staff_user
    assert "Met in San Francisco" in client.get(f"/partnerships/{visa.pk}/").text


def test_an_edit_opened_on_an_old_version_is_refused_and_keeps_what_was_typed(
    client, staff_user, visa
):
    client.force_login(staff_user)
    old = version_of(visa)
    services.record_update(instance=visa, changes={"notes": "Newer"}, by=staff_user, version=None)

    response = client.post(
        f"/partnerships/{visa.pk}/edit/",
        {"role": "investor", "notes": "Typed on the old copy", "version": old},
    )

    visa.refresh_from_db()
    assert response.status_code == 200
    assert visa.notes == "Newer"
    assert "Typed on the old copy" in response.text


def test_the_edit_page_never_moves_the_stage_or_the_owner(client, staff_user, visa):
    client.force_login(staff_user)

    client.post(
        f"/partnerships/{visa.pk}/edit/",
        {
            "role": visa.role,
            "notes": "",
            "stage": "active",
            "owner": staff_user.pk,
            "version": version_of(visa),
        },
    )

    visa.refresh_from_db()
    assert visa.stage == "exploring" and visa.owner is None


def test_a_reader_cannot_open_the_edit_page(client, reader, visa):
    client.force_login(reader)

    assert client.get(f"/partnerships/{visa.pk}/edit/").status_code == 403
    assert f"/partnerships/{visa.pk}/edit/" not in client.get(f"/partnerships/{visa.pk}/").text
