"""Admin: stale copies are refused, saves write only what changed, state moves by actions."""

from datetime import date, timedelta
from types import SimpleNamespace

import pytest
from django.urls import reverse
from django.utils import timezone

from crm import services
from crm.models import FollowUp, Organization, Partnership, StageChange
from tests.factories import (
    AffiliationFactory,
    FollowUpFactory,
    InteractionFactory,
    OrganizationFactory,
    PartnershipFactory,
    ProjectFactory,
)
from tests.test_admin import form_data, post_action, url


@pytest.fixture
def english(settings):
    settings.LANGUAGE_CODE = "en"


pytestmark = pytest.mark.django_db


def change_url(obj) -> str:
    return url(type(obj), "change", obj.pk)


def act_url(obj, action: str) -> str:
    return reverse(f"admin:crm_{obj._meta.model_name}_act", args=[obj.pk, action])


# Stale change forms.


def test_a_stale_change_form_is_refused_with_who_when_and_a_reload_link(
    client, coordinator, staff_user, english
):
    organization = OrganizationFactory(city="Lomé", description="first")
    client.force_login(coordinator)
    data = form_data(client.get(change_url(organization)))
    assert data["version"]
    # A colleague saves the organisation while the coordinator's form is open.
    services.record_update(
        instance=organization, changes={"description": "second"}, by=staff_user, version=None
    )

    response = client.post(change_url(organization), {**data, "city": "Kara"})

    assert response.status_code == 200
    errors = response.context["adminform"].form.non_field_errors()
    assert "staffer changed this record" in errors[0]
    assert f'href="{change_url(organization)}"' in response.text
    # What was typed is still on the form.
    assert response.context["adminform"].form["city"].value() == "Kara"
    organization.refresh_from_db()
    assert (organization.city, organization.description) == ("Lomé", "second")


def test_a_fresh_change_form_saves_and_both_changes_stay_in_history(
    client, coordinator, staff_user
):
    organization = OrganizationFactory(city="Lomé", description="first")
    services.record_update(
        instance=organization, changes={"description": "second"}, by=staff_user, version=None
    )
    client.force_login(coordinator)
    data = form_data(client.get(change_url(organization)))

    response = client.post(change_url(organization), {**data, "city": "Kara"})

    assert response.status_code == 302
    organization.refresh_from_db()
    assert (organization.city, organization.description) == ("Kara", "second")
    latest, theirs = organization.history.all()[:2]
    assert (latest.history_user, latest.city, latest.description) == (
        coordinator,
        "Kara",
        "second",
    )
    assert (theirs.history_user, theirs.description) == (staff_user, "second")


def test_an_admin_save_writes_only_the_fields_it_changed(client, coordinator):
    follow_up = FollowUpFactory(title="Call Visa", description="Old")
    client.force_login(coordinator)
    data = form_data(client.get(change_url(follow_up)))
    # Written without a new version, to a field the form shows read-only.
    FollowUp.objects.filter(pk=follow_up.pk).update(
        status=FollowUp.Status.WAITING, waiting_since=date(2026, 1, 2)
    )

    response = client.post(change_url(follow_up), {**data, "title": "Call Visa back"})

    assert response.status_code == 302
    follow_up.refresh_from_db()
    assert (follow_up.title, follow_up.status) == ("Call Visa back", FollowUp.Status.WAITING)


def test_a_follow_up_completed_while_its_form_was_open_stays_done(
    client, coordinator, staff_user, english
):
    follow_up = FollowUpFactory(title="Call Visa")
    client.force_login(coordinator)
    data = form_data(client.get(change_url(follow_up)))
    services.follow_up_complete(follow_up=follow_up, by=staff_user, note="Called them.")

    response = client.post(change_url(follow_up), {**data, "priority": FollowUp.Priority.HIGH})

    assert response.status_code == 200
    assert "changed this record" in response.text
    follow_up.refresh_from_db()
    assert (follow_up.status, follow_up.completion_note) == (FollowUp.Status.DONE, "Called them.")
    assert follow_up.priority == FollowUp.Priority.NORMAL


def test_a_change_form_without_its_version_is_refused(client, coordinator, english):
    organization = OrganizationFactory(city="Lomé")
    client.force_login(coordinator)
    data = form_data(client.get(change_url(organization)))
    del data["version"]

    response = client.post(change_url(organization), {**data, "city": "Kara"})

    assert response.status_code == 200
    assert "lost track of its version" in response.context["adminform"].form.non_field_errors()[0]
    organization.refresh_from_db()
    assert organization.city == "Lomé"


# Stale inline rows.


def test_a_stale_inline_row_is_refused_and_fresh_rows_save(client, coordinator, staff_user):
    organization = OrganizationFactory()
    affiliation = AffiliationFactory(organization=organization, title="CEO")
    partnership = PartnershipFactory(organization=organization)
    client.force_login(coordinator)
    data = form_data(client.get(change_url(organization)))
    services.record_update(
        instance=affiliation, changes={"title": "Chair"}, by=staff_user, version=None
    )

    stale = client.post(
        change_url(organization),
        {**data, "affiliations-0-title": "President", "partnerships-0-contact_cadence_days": "9"},
    )

    assert stale.status_code == 200
    affiliation.refresh_from_db()
    partnership.refresh_from_db()
    assert (affiliation.title, partnership.contact_cadence_days) == ("Chair", None)

    fresh = client.post(
        change_url(organization),
        {
            **form_data(client.get(change_url(organization))),
            "partnerships-0-contact_cadence_days": "9",
        },
    )

    assert fresh.status_code == 302
    affiliation.refresh_from_db()
    partnership.refresh_from_db()
    assert (affiliation.title, partnership.contact_cadence_days) == ("Chair", 9)


def test_owner_and_stage_are_locked_in_partnership_rows(client, coordinator, staff_user):
    organization = OrganizationFactory()
    partnership = PartnershipFactory(organization=organization, stage="contacted")
    client.force_login(coordinator)
    data = form_data(client.get(change_url(organization)))

    response = client.post(
        change_url(organization),
        {**data, "partnerships-0-owner": staff_user.pk, "partnerships-0-stage": "active"},
    )

    assert response.status_code == 302
    partnership.refresh_from_db()
    assert (partnership.owner, partnership.stage) == (None, "contacted")


def test_a_follow_up_added_in_an_interaction_goes_through_the_service(
    client, coordinator, staff_user, mailoutbox, django_capture_on_commit_callbacks
):
    interaction = InteractionFactory(organizations=[OrganizationFactory()])
    existing = FollowUpFactory(interaction=interaction, due_on=date(2026, 3, 1))
    project = ProjectFactory()
    client.force_login(coordinator)
    data = form_data(client.get(change_url(interaction)))
    prefix = "follow_ups"
    total = int(data[f"{prefix}-TOTAL_FORMS"])

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            change_url(interaction),
            {
                **data,
                f"{prefix}-TOTAL_FORMS": str(total + 1),
                f"{prefix}-0-due_on": "2030-01-01",  # Locked on an existing row.
                f"{prefix}-{total}-title": "Send the deck",
                f"{prefix}-{total}-project": project.pk,
                f"{prefix}-{total}-assignee": staff_user.pk,
                f"{prefix}-{total}-due_on": "2026-02-01",
                f"{prefix}-{total}-priority": "normal",
            },
        )

    assert response.status_code == 302, response.context and response.context["errors"]
    added = FollowUp.objects.get(title="Send the deck")
    assert (added.created_by, added.assignee, added.interaction) == (
        coordinator,
        staff_user,
        interaction,
    )
    assert [message.to for message in mailoutbox] == [[staff_user.email]]
    existing.refresh_from_db()
    assert existing.due_on == date(2026, 3, 1)


# History reverts are edits like any other.


def test_a_revert_writes_the_old_values_and_checks_the_version(client, coordinator, staff_user):
    organization = OrganizationFactory(city="Lomé")
    services.record_update(
        instance=organization, changes={"city": "Kara"}, by=staff_user, version=None
    )
    old = organization.history.last()
    revert_url = reverse(
        "admin:crm_organization_simple_history", args=[organization.pk, old.history_id]
    )
    client.force_login(coordinator)
    data = form_data(client.get(revert_url))
    assert data["city"] == "Lomé"

    response = client.post(revert_url, data)

    assert response.status_code == 302
    organization.refresh_from_db()
    assert organization.city == "Lomé"
    assert organization.history.first().history_user == coordinator


# The state changes through actions, and their buttons on the change form.


def test_the_follow_up_change_form_offers_the_actions_as_buttons(client, coordinator, english):
    follow_up = FollowUpFactory()
    client.force_login(coordinator)

    page = client.get(change_url(follow_up)).text

    for action in ["mark_done", "reassign", "snooze", "cancel"]:
        assert act_url(follow_up, action) in page
    assert act_url(follow_up, "reopen") not in page


def test_a_button_runs_its_action_on_that_follow_up_alone(client, coordinator):
    follow_up, other = FollowUpFactory(), FollowUpFactory()
    client.force_login(coordinator)
    today = timezone.localdate()

    page = client.get(act_url(follow_up, "snooze"))
    response = client.post(
        act_url(follow_up, "snooze"),
        {"post": "yes", "due_on": today + timedelta(days=5), "reason": "On leave"},
    )

    assert page.status_code == 200
    assert response.status_code == 302
    assert response.url == change_url(follow_up)
    follow_up.refresh_from_db()
    other.refresh_from_db()
    assert follow_up.due_on == today + timedelta(days=5)
    assert follow_up.history.first().history_change_reason == "On leave"
    assert other.due_on != follow_up.due_on


def test_mark_waiting_is_never_done_by_a_get(client, coordinator):
    follow_up = FollowUpFactory()
    client.force_login(coordinator)

    refused = client.get(act_url(follow_up, "mark_waiting"))
    done = client.post(act_url(follow_up, "mark_waiting"), {"post": "yes"})

    assert (refused.status_code, done.status_code) == (405, 302)
    follow_up.refresh_from_db()
    assert follow_up.status == FollowUp.Status.WAITING


def test_a_reader_has_no_buttons(client, reader):
    follow_up = FollowUpFactory()
    client.force_login(reader)

    assert client.get(act_url(follow_up, "cancel")).status_code == 403


def test_cancel_and_reopen_record_why(client, coordinator):
    follow_up = FollowUpFactory()
    client.force_login(coordinator)

    post_action(client, FollowUp, "cancel", [follow_up], post="yes", reason="Not needed")
    follow_up.refresh_from_db()
    assert follow_up.status == FollowUp.Status.CANCELLED
    post_action(client, FollowUp, "reopen", [follow_up], post="yes", reason="Needed again")

    follow_up.refresh_from_db()
    assert follow_up.status == FollowUp.Status.OPEN
    reasons = [row.history_change_reason for row in follow_up.history.all()[:2]]
    assert reasons == ["Needed again", "Not needed"]


def test_reopen_clears_the_completion(client, coordinator):
    follow_up = FollowUpFactory()
    services.follow_up_complete(follow_up=follow_up, by=coordinator, note="Sent")
    client.force_login(coordinator)

    post_action(client, FollowUp, "reopen", [follow_up], post="yes", reason="Bounced")

    follow_up.refresh_from_db()
    assert (follow_up.status, follow_up.completed_at, follow_up.completed_by) == (
        FollowUp.Status.OPEN,
        None,
        None,
    )


def test_an_action_says_why_it_left_records_alone(client, coordinator, english):
    done = FollowUpFactory()
    services.follow_up_complete(follow_up=done, by=coordinator, note="Sent")
    open_ = FollowUpFactory()
    client.force_login(coordinator)

    response = post_action(
        client, FollowUp, "cancel", [done, open_], post="yes", reason="Not needed"
    )

    shown = [str(m) for m in client.get(response.url).context["messages"]]
    assert "1 follow-up cancelled." in shown
    assert "Left as it was (1): This follow-up is already Done." in shown


def test_snooze_into_the_past_is_refused(client, coordinator, english):
    follow_up = FollowUpFactory(due_on=date(2026, 1, 1))
    client.force_login(coordinator)

    response = post_action(
        client, FollowUp, "snooze", [follow_up], post="yes", due_on="2020-01-01", reason="x"
    )

    shown = [str(m) for m in client.get(response.url).context["messages"]]
    assert shown == ["Left as it was (1): Choose today or a later date."]
    follow_up.refresh_from_db()
    assert follow_up.due_on == date(2026, 1, 1)


def test_assign_owner_tells_the_new_owner(
    client, coordinator, staff_user, mailoutbox, django_capture_on_commit_callbacks
):
    partnership = PartnershipFactory()
    client.force_login(coordinator)

    with django_capture_on_commit_callbacks(execute=True):
        post_action(
            client,
            Partnership,
            "assign_owner",
            [partnership],
            post="yes",
            owner=staff_user.pk,
            reason="Knows them",
        )

    partnership.refresh_from_db()
    assert partnership.owner == staff_user
    assert partnership.history.first().history_change_reason == "Knows them"
    assert [message.to for message in mailoutbox] == [[staff_user.email]]


def test_partnership_owner_is_read_only_on_the_change_form(client, coordinator, staff_user):
    partnership = PartnershipFactory()
    client.force_login(coordinator)
    data = form_data(client.get(change_url(partnership)))

    response = client.post(change_url(partnership), {**data, "owner": staff_user.pk})

    assert response.status_code == 302
    partnership.refresh_from_db()
    assert partnership.owner is None
    assert act_url(partnership, "assign_owner") in client.get(change_url(partnership)).text


def test_adding_a_partnership_that_exists_is_a_form_error(client, coordinator):
    existing = PartnershipFactory()
    client.force_login(coordinator)
    data = {
        **form_data(client.get(url(Partnership, "add"))),
        "organization": existing.organization_id,
        "project": existing.project_id,
        "role": Partnership.Role.FUNDER,
        "stage": Partnership.Stage.CONTACTED,
    }

    response = client.post(url(Partnership, "add"), data)

    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    assert Partnership.objects.count() == 1
    assert StageChange.objects.count() == 0


def test_every_admin_of_a_model_with_updated_at_is_versioned():
    from django.contrib import admin

    from crm.admin.base import VersionedAdminMixin
    from crm.forms import VersionedModelForm

    # Whoever asks, even one holding every permission.
    request = SimpleNamespace(user=SimpleNamespace(has_perm=lambda perm, obj=None: True))
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label != "crm" or not hasattr(model, "updated_at"):
            continue
        if not model_admin.has_change_permission(request):
            # Never edited in the admin (mail messages: actions only): no stale copy.
            continue
        assert isinstance(model_admin, VersionedAdminMixin), model
        assert issubclass(model_admin.form, VersionedModelForm), model
        for inline in model_admin.inlines:
            if hasattr(inline.model, "updated_at"):
                assert issubclass(inline.form, VersionedModelForm), inline
    assert Organization in admin.site._registry


@pytest.mark.parametrize("kind", ["commitment", "agreement"])
def test_a_stale_commitment_or_agreement_form_is_refused(
    client, coordinator, staff_user, english, kind
):
    # They once saved their own way, around the version check.
    from tests.factories import AgreementFactory, CommitmentFactory

    record = CommitmentFactory() if kind == "commitment" else AgreementFactory()
    field = "description" if kind == "commitment" else "summary"
    client.force_login(coordinator)
    data = form_data(client.get(change_url(record)))
    services.record_update(
        instance=record, changes={field: "written meanwhile"}, by=staff_user, version=None
    )

    response = client.post(change_url(record), {**data, field: "mine"})

    assert response.status_code == 200
    assert (
        "staffer changed this record" in response.context["adminform"].form.non_field_errors()[0]
    )
    record.refresh_from_db()
    assert getattr(record, field) == "written meanwhile"


def test_a_commitment_s_status_is_not_a_generic_edit(staff_user):
    from tests.factories import CommitmentFactory

    with pytest.raises(ValueError, match="status"):
        services.record_update(
            instance=CommitmentFactory(),
            changes={"status": "delivered"},
            by=staff_user,
            version=None,
        )
