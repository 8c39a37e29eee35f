"""The assignment notice: one short e-mail when someone else gives you follow-ups."""

from datetime import date

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.urls import reverse

from crm import roles, services
from crm.models import FollowUp, FollowUpPlan, FollowUpPlanStep, Interaction, StaffProfile
from crm.versions import version_of
from tests import factories
from tests.conftest import TODAY


@pytest.fixture(autouse=True)
def base_url(settings):
    settings.CRM_BASE_URL = "https://crm.example.org"


@pytest.fixture
def commits(django_capture_on_commit_callbacks):
    """Run what waits for the commit, as a real request's commit would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def colleague(username: str):
    """A member of Staff: only staff can be given work."""
    user = factories.UserFactory(username=username)
    user.groups.add(Group.objects.get(name=roles.STAFF))
    return user


@pytest.fixture
def project(db):
    return factories.ProjectFactory(code="paiements-digitaux", name="Paiements digitaux")


def test_creating_a_follow_up_for_a_colleague_tells_them_once(
    coordinator, staff_user, project, mailoutbox, commits
):
    coordinator.first_name, coordinator.last_name = "Kossi", "Mensah"
    coordinator.save()
    with commits():
        follow_up = services.follow_up_create(
            by=coordinator, title="Relancer Visa", project=project, assignee=staff_user,
            due_on=date(2026, 1, 20),
        )  # fmt: skip

    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == [staff_user.email]
    assert message.subject == "[CRM Compact] Kossi Mensah vous a confié : Relancer Visa"
    link = f"https://crm.example.org/follow-ups/{follow_up.pk}/"
    assert link in message.body
    assert link in message.alternatives[0][0]


def test_the_notice_speaks_the_assignee_s_language(
    coordinator, staff_user, project, mailoutbox, commits
):
    StaffProfile.objects.create(user=staff_user, language="en")
    with commits():
        services.follow_up_create(
            by=coordinator, title="Call Visa", project=project, assignee=staff_user,
            due_on=TODAY,
        )  # fmt: skip

    assert mailoutbox[0].subject == "[Compact CRM] coordinator assigned you: Call Visa"


def test_assigning_oneself_sends_nothing(staff_user, project, mailoutbox, commits):
    with commits():
        services.follow_up_create(
            by=staff_user, title="Mine", project=project, assignee=staff_user, due_on=TODAY
        )

    assert mailoutbox == []


def test_later_edits_send_nothing(coordinator, staff_user, project, mailoutbox, commits):
    follow_up = factories.FollowUpFactory(project=project, assignee=staff_user)

    with commits():
        services.follow_up_snooze(
            follow_up=follow_up, due_on=date(2026, 2, 1), reason="Holidays", by=coordinator,
            today=TODAY,
        )  # fmt: skip
        services.follow_up_mark_waiting(follow_up=follow_up, by=coordinator)
        services.follow_up_reassign(follow_up=follow_up, assignee=staff_user, by=coordinator)

    assert mailoutbox == []


def test_reassigning_tells_the_new_assignee(coordinator, staff_user, project, mailoutbox, commits):
    follow_up = factories.FollowUpFactory(project=project, assignee=coordinator)

    with commits():
        services.follow_up_reassign(follow_up=follow_up, assignee=staff_user, by=coordinator)

    assert [m.to for m in mailoutbox] == [[staff_user.email]]


def test_a_rolled_back_write_sends_nothing(coordinator, staff_user, project, mailoutbox, commits):
    organization = factories.OrganizationFactory()
    with commits(), pytest.raises(ValidationError):
        services.interaction_log(
            by=coordinator,
            kind=Interaction.Kind.MEETING,
            occurred_on=TODAY,
            title="Session",
            organizations=[organization],
            follow_ups=[
                {"title": "Fine", "project": project, "assignee": staff_user, "due_on": TODAY},
                {"title": "", "project": project, "assignee": staff_user, "due_on": TODAY},
            ],
        )

    assert mailoutbox == []
    assert not FollowUp.objects.exists()


def test_a_meeting_with_several_follow_ups_for_one_person_makes_one_email(
    coordinator, staff_user, project, mailoutbox, commits
):
    with commits():
        services.interaction_log(
            by=coordinator,
            kind=Interaction.Kind.MEETING,
            occurred_on=TODAY,
            title="Session",
            organizations=[factories.OrganizationFactory()],
            follow_ups=[
                {"title": "One", "project": project, "assignee": staff_user, "due_on": TODAY},
                {"title": "Two", "project": project, "assignee": staff_user, "due_on": TODAY},
                {"title": "Mine", "project": project, "assignee": coordinator, "due_on": TODAY},
            ],
        )

    assert len(mailoutbox) == 1
    assert mailoutbox[0].subject == "[CRM Compact] coordinator vous a confié 2 suivis"
    assert "One" in mailoutbox[0].body and "Two" in mailoutbox[0].body
    assert "Mine" not in mailoutbox[0].body


def test_a_plan_applied_for_a_colleague_makes_one_email(
    coordinator, staff_user, project, mailoutbox, commits
):
    plan = FollowUpPlan.objects.create(slug="after", name="After a meeting")
    for days, title in [(2, "Thank"), (14, "Concept note"), (30, "Call")]:
        FollowUpPlanStep.objects.create(plan=plan, offset_days=days, title=title)
    interaction = factories.InteractionFactory(organizations=[factories.OrganizationFactory()])

    with commits():
        services.follow_up_plan_apply(
            plan=plan, interaction=interaction, project=project, assignee=staff_user,
            by=coordinator, today=TODAY,
        )  # fmt: skip

    assert len(mailoutbox) == 1
    assert "3 suivis" in mailoutbox[0].subject


def test_no_notice_to_someone_without_an_address(coordinator, staff_user, project, mailoutbox,
                                                 commits):  # fmt: skip
    staff_user.email = ""
    staff_user.save()
    with commits():
        services.follow_up_create(
            by=coordinator, title="X", project=project, assignee=staff_user, due_on=TODAY
        )

    assert mailoutbox == []


def test_a_mail_server_down_does_not_undo_the_write(
    coordinator, staff_user, project, mailoutbox, commits, monkeypatch, caplog
):
    def refuse(self, *args, **kwargs):
        raise ConnectionRefusedError("SMTP server down")

    monkeypatch.setattr("django.core.mail.EmailMessage.send", refuse)
    with commits():
        services.follow_up_create(
            by=coordinator, title="Saved", project=project, assignee=staff_user, due_on=TODAY
        )

    assert FollowUp.objects.filter(title="Saved").exists()
    assert "Assignment notice to staffer failed" in caplog.text


# Every way in: the staff pages and the admin.


def test_the_new_follow_up_page_notifies_the_assignee(
    client, coordinator, staff_user, project, mailoutbox, commits
):
    client.force_login(coordinator)
    data = {"title": "Send the deck", "project": project.pk, "assignee": staff_user.pk,
            "due_on": "2026-02-01", "priority": "normal"}  # fmt: skip
    with commits():
        client.post(reverse("follow-up-new"), data)

    assert [m.to for m in mailoutbox] == [[staff_user.email]]


def test_the_reassign_page_notifies_the_new_assignee(
    client, coordinator, staff_user, project, mailoutbox, commits
):
    follow_up = factories.FollowUpFactory(project=project, assignee=coordinator)
    client.force_login(coordinator)

    with commits():
        client.post(
            reverse("follow-up-reassign", args=[follow_up.pk]),
            {"assignee": staff_user.pk, "version": version_of(follow_up)},
        )

    assert [m.to for m in mailoutbox] == [[staff_user.email]]


def _admin_data(client, url: str) -> dict:
    from tests.test_admin import form_data

    return form_data(client.get(url))


def test_the_admin_notifies_on_add_and_on_a_new_assignee_only(
    client, coordinator, staff_user, project, mailoutbox, commits
):
    client.force_login(coordinator)
    add = reverse("admin:crm_followup_add")
    with commits():
        client.post(add, {**_admin_data(client, add), "title": "Brief", "project": project.pk,
                          "assignee": staff_user.pk, "due_on": "2026-02-01"})  # fmt: skip
    follow_up = FollowUp.objects.get(title="Brief")
    change = reverse("admin:crm_followup_change", args=[follow_up.pk])

    with commits():
        client.post(change, {**_admin_data(client, change), "title": "Brief, v2"})
    assert len(mailoutbox) == 1

    other = colleague("akpene")
    reassign = reverse("admin:crm_followup_act", args=[follow_up.pk, "reassign"])
    with commits():
        client.post(reassign, {"post": "yes", "assignee": other.pk})

    assert [m.to for m in mailoutbox] == [[staff_user.email], [other.email]]


def test_the_admin_interaction_inline_notifies_the_assignee(
    client, coordinator, staff_user, project, mailoutbox, commits
):
    client.force_login(coordinator)
    add = reverse("admin:crm_interaction_add")
    data = {
        **_admin_data(client, add),
        "title": "Session",
        "kind": Interaction.Kind.MEETING,
        "occurred_on": "2023-09-26",
        "interactionorganization_set-0-organization": factories.OrganizationFactory().pk,
        "follow_ups-TOTAL_FORMS": "1",
        "follow_ups-0-title": "Send the brief",
        "follow_ups-0-project": project.pk,
        "follow_ups-0-assignee": staff_user.pk,
        "follow_ups-0-due_on": "2026-02-01",
        "follow_ups-0-priority": "normal",
    }
    with commits():
        response = client.post(add, data)

    assert response.status_code == 302
    assert [m.to for m in mailoutbox] == [[staff_user.email]]


def test_the_api_notifies_on_create_and_on_a_new_assignee_only(
    coordinator, staff_user, project, mailoutbox, commits, coordinator_api
):
    with commits():
        created = coordinator_api.post(
            "/api/v1/follow-ups/",
            {"title": "Relancer Visa", "project": project.pk, "assignee": staff_user.pk,
             "due_on": "2026-01-20"},
            format="json",
        )  # fmt: skip
    assert created.status_code == 201, created.json()
    assert [message.to for message in mailoutbox] == [[staff_user.email]]

    url = f"/api/v1/follow-ups/{created.json()['id']}/"
    with commits():
        coordinator_api.patch(url, {"title": "Relancer Visa et Mastercard"}, format="json")
    assert len(mailoutbox) == 1

    other = colleague("other")
    with commits():
        coordinator_api.post(f"{url}reassign/", {"assignee": other.pk}, format="json")
    assert [message.to for message in mailoutbox[1:]] == [[other.email]]


def test_notices_use_a_short_mail_server_timeout(coordinator, staff_user, project, commits):
    from unittest import mock

    from crm import emails

    with (
        mock.patch("crm.emails.get_connection", wraps=emails.get_connection) as connect,
        commits(),
    ):
        services.follow_up_create(
            by=coordinator, title="Relancer Visa", project=project, assignee=staff_user,
            due_on=TODAY,
        )  # fmt: skip

    connect.assert_called_once_with(timeout=emails.NOTICE_TIMEOUT_SECONDS)
