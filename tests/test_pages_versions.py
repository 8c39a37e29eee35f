"""Staff pages: an action decided on an old state of a follow-up is refused, and says why."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.urls import reverse

from crm import services
from crm.models import FollowUp
from crm.versions import version_of
from tests import factories
from tests.conftest import TODAY

pytestmark = pytest.mark.django_db


@pytest.fixture
def acting(client, staff_user, pages_today):
    client.force_login(staff_user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return factories.FollowUpFactory(title="Call Visa", due_on=TODAY, assignee=staff_user)


def test_a_snooze_from_a_page_opened_before_a_reassignment_is_refused(
    client, acting, coordinator, staff_user
):
    shown = version_of(acting)
    services.follow_up_reassign(follow_up=acting, assignee=coordinator, by=coordinator)

    response = client.post(
        reverse("follow-up-snooze", args=[acting.pk]),
        {"due_on": TODAY + timedelta(days=9), "reason": "On leave", "version": shown},
    )

    assert response.status_code == 200
    errors = response.context["form"].non_field_errors()
    assert "coordinator changed this record" in errors[0]
    assert f'href="{reverse("follow-up-snooze", args=[acting.pk])}' in response.text
    # What was typed is still there, to be made again after a reload.
    assert response.context["form"]["reason"].value() == "On leave"
    acting.refresh_from_db()
    assert (acting.due_on, acting.assignee) == (TODAY, coordinator)


def test_a_fresh_snooze_saves_and_both_changes_stay_in_history(
    client, acting, coordinator, staff_user
):
    services.follow_up_reassign(follow_up=acting, assignee=coordinator, by=coordinator)
    acting.refresh_from_db()

    response = client.post(
        reverse("follow-up-snooze", args=[acting.pk]),
        {"due_on": TODAY + timedelta(days=9), "reason": "On leave", "version": version_of(acting)},
    )

    assert response.status_code == 302
    acting.refresh_from_db()
    assert (acting.due_on, acting.assignee) == (TODAY + timedelta(days=9), coordinator)
    snoozed, reassigned = acting.history.all()[:2]
    assert (snoozed.history_user, snoozed.history_change_reason) == (staff_user, "On leave")
    assert (reassigned.history_user, reassigned.assignee) == (coordinator, coordinator)


def test_a_reassignment_from_a_page_opened_before_a_completion_says_so(
    client, acting, coordinator
):
    page = client.get(reverse("follow-up-reassign", args=[acting.pk]))
    shown = page.context["form"]["version"].value()
    services.follow_up_complete(follow_up=acting, by=coordinator, note="Called them.")

    response = client.post(
        reverse("follow-up-reassign", args=[acting.pk]),
        {"assignee": coordinator.pk, "version": shown},
    )

    assert response.status_code == 200
    assert "changed this record" in response.text
    acting.refresh_from_db()
    assert (acting.status, acting.completion_note) == (FollowUp.Status.DONE, "Called them.")


def test_quick_action_forms_carry_the_version(client, acting):
    page = client.get(reverse("dashboard")).text

    assert f'name="version" value="{version_of(acting)}"' in page


def test_an_action_without_its_version_is_refused(client, acting):
    response = client.post(reverse("follow-up-waiting", args=[acting.pk]))

    assert response.status_code == 200
    assert "lost track of its version" in response.text
    acting.refresh_from_db()
    assert acting.status == FollowUp.Status.OPEN


def test_a_stage_move_from_a_pipeline_shown_before_another_move_is_refused(
    client, staff_user, coordinator, pages_today
):
    client.force_login(staff_user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    partnership = factories.PartnershipFactory(project__code="hub", stage="contacted")
    page = client.get("/projects/hub/").text
    shown = version_of(partnership)
    assert f'name="version" value="{shown}"' in page
    services.partnership_change_stage(
        partnership=partnership, to_stage="agreement", by=coordinator
    )

    response = client.post(
        reverse("partnership-stage", args=[partnership.pk]),
        {"stage": "exploring", "version": shown, "next": "/projects/hub/"},
        follow=True,
    )

    shown_messages = [str(m) for m in response.context["messages"]]
    assert len(shown_messages) == 1
    assert "coordinator changed this record" in shown_messages[0]
    assert 'href="/projects/hub/"' in response.text
    partnership.refresh_from_db()
    assert partnership.stage == "agreement"
    assert partnership.stage_changes.count() == 1
