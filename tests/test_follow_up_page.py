"""A page per follow-up: its facts, its actions and its whole history."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm import services
from crm.models import FollowUp
from tests import factories
from tests.conftest import TODAY

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("pages_today")]


@pytest.fixture(autouse=True)
def english(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"


@pytest.fixture
def follow_up(staff_user):
    organization = factories.OrganizationFactory(slug="visa", name="Visa")
    return factories.FollowUpFactory(
        title="Relancer Visa",
        description="Ask for the pilot's figures.",
        organization=organization,
        assignee=staff_user,
        due_on=TODAY + timedelta(days=2),
    )


def test_a_follow_up_s_url_is_its_own_page(follow_up):
    assert follow_up.get_absolute_url() == f"/follow-ups/{follow_up.pk}/"


def test_the_follow_up_page_shows_its_facts_and_actions(client, staff_user, follow_up):
    client.force_login(staff_user)

    response = client.get(f"/follow-ups/{follow_up.pk}/")

    assert response.status_code == 200
    text = response.text
    assert "Relancer Visa" in text and "Ask for the pilot&#x27;s figures." in text
    assert f'action="/follow-ups/{follow_up.pk}/done/"' in text
    assert f'action="/follow-ups/{follow_up.pk}/snooze/"' in text
    assert f'href="/follow-ups/{follow_up.pk}/edit/"' in text


def test_the_follow_up_page_lists_a_snooze_s_reason(client, staff_user, follow_up):
    services.follow_up_snooze(
        follow_up=follow_up,
        due_on=TODAY + timedelta(days=20),
        reason="Visa's team is away until February",
        by=staff_user,
        today=TODAY,
    )
    client.force_login(staff_user)

    response = client.get(f"/follow-ups/{follow_up.pk}/")

    snoozes = [event for event in response.context["events"] if event.kind == "snoozed"]
    assert [(e.reason, e.by, e.after) for e in snoozes] == [
        ("Visa's team is away until February", staff_user, TODAY + timedelta(days=20))
    ]
    assert "Visa&#x27;s team is away until February" in response.text


def test_the_history_tells_reassignments_and_status_changes_with_who(
    client, staff_user, coordinator, follow_up
):
    services.follow_up_reassign(follow_up=follow_up, assignee=coordinator, by=staff_user)
    services.follow_up_mark_waiting(follow_up=follow_up, by=coordinator)
    services.follow_up_complete(follow_up=follow_up, by=coordinator, note="Figures received.")
    client.force_login(staff_user)

    events = client.get(f"/follow-ups/{follow_up.pk}/").context["events"]

    assert [(e.kind, str(e.before), str(e.after), e.by) for e in events] == [
        ("status", "Waiting on partner", "Done", coordinator),
        ("status", "Open", "Waiting on partner", coordinator),
        ("reassigned", str(staff_user), str(coordinator), staff_user),
        ("created", "None", str(staff_user), None),
    ]
    assert events[0].reason == "Figures received."


def test_the_follow_up_page_needs_login_and_the_view_permission(client, follow_up):
    url = f"/follow-ups/{follow_up.pk}/"
    assert client.get(url)["Location"].startswith("/accounts/login/")

    client.force_login(factories.UserFactory(username="nobody"))
    assert client.get(url).status_code == 403


def test_a_reader_sees_the_page_without_actions(client, reader, follow_up):
    client.force_login(reader)

    response = client.get(f"/follow-ups/{follow_up.pk}/")

    assert response.status_code == 200
    assert "/done/" not in response.text
    assert client.get(f"/follow-ups/{follow_up.pk}/edit/").status_code == 403


def test_an_unknown_follow_up_is_a_404(client, staff_user):
    client.force_login(staff_user)
    assert client.get("/follow-ups/999999/").status_code == 404


def test_the_follow_up_page_queries_do_not_grow_with_its_history(client, staff_user, follow_up):
    client.force_login(staff_user)
    url = f"/follow-ups/{follow_up.pk}/"

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    few = queries()
    for days in range(3, 13):
        services.follow_up_snooze(
            follow_up=follow_up,
            due_on=TODAY + timedelta(days=days),
            reason=f"Later ({days})",
            by=staff_user,
            today=TODAY,
        )
    assert queries() == few


# Editing a follow-up's own facts.


def test_editing_a_follow_up_saves_what_changed(client, staff_user, follow_up):
    client.force_login(staff_user)
    form = client.get(f"/follow-ups/{follow_up.pk}/edit/").context["form"]

    response = client.post(
        f"/follow-ups/{follow_up.pk}/edit/",
        {
            "title": "Relancer Visa sur le pilote",
            "description": follow_up.description,
            "priority": "high",
            "project": follow_up.project_id,
            "organization": follow_up.organization_id,
            "person": "",
            "version": form["version"].value(),
        },
    )

    assert response.status_code == 302
    follow_up.refresh_from_db()
    assert (follow_up.title, follow_up.priority) == ("Relancer Visa sur le pilote", "high")
    assert follow_up.history.first().history_user == staff_user


def test_a_stale_follow_up_edit_is_refused_and_a_fresh_one_saves(
    client, staff_user, coordinator, follow_up
):
    client.force_login(staff_user)
    url = f"/follow-ups/{follow_up.pk}/edit/"
    old_version = client.get(url).context["form"]["version"].value()
    data = {
        "title": follow_up.title,
        "description": follow_up.description,
        "priority": "normal",
        "project": follow_up.project_id,
        "organization": follow_up.organization_id,
        "person": "",
    }
    # A colleague edits meanwhile.
    services.record_update(
        instance=follow_up, changes={"priority": "high"}, by=coordinator, version=None
    )

    stale = client.post(url, {**data, "title": "Mine", "version": old_version})

    assert stale.status_code == 200
    assert "changed this record on" in stale.text
    assert 'value="Mine"' in stale.text
    follow_up.refresh_from_db()
    assert (follow_up.title, follow_up.priority) == ("Relancer Visa", "high")

    fresh_version = client.get(url).context["form"]["version"].value()
    fresh = client.post(
        url, {**data, "priority": "high", "title": "Mine", "version": fresh_version}
    )

    assert fresh.status_code == 302
    follow_up.refresh_from_db()
    assert (follow_up.title, follow_up.priority) == ("Mine", "high")
    users = [row.history_user for row in follow_up.history.all()[:2]]
    assert users == [staff_user, coordinator]


# The organisation's timeline.


def test_the_organisation_timeline_shows_snoozes_and_reassignments(
    client, staff_user, coordinator, follow_up
):
    services.follow_up_snooze(
        follow_up=follow_up,
        due_on=TODAY + timedelta(days=9),
        reason="Waiting for the budget",
        by=staff_user,
        today=TODAY,
    )
    services.follow_up_reassign(follow_up=follow_up, assignee=coordinator, by=staff_user)
    client.force_login(staff_user)

    response = client.get("/organizations/visa/")

    events = [e.item for e in response.context["timeline"] if e.kind == "follow_up_event"]
    assert [(e.kind, e.title) for e in events] == [
        ("reassigned", "Relancer Visa"),
        ("snoozed", "Relancer Visa"),
    ]
    assert events[1].reason == "Waiting for the budget"
    assert "Waiting for the budget" in response.text
    assert FollowUp.objects.get(pk=follow_up.pk).assignee == coordinator
