"""Writes: each service applies one rule, in one transaction, for every way in."""

from datetime import date
from unittest import mock

import pytest
from django.core.exceptions import ValidationError

from crm import services
from crm.models import FollowUp, Interaction, Partnership, StageChange
from tests import factories

pytestmark = pytest.mark.django_db


def test_completing_a_follow_up_records_what_who_and_when(staff_user):
    follow_up = factories.FollowUpFactory()

    done = services.follow_up_complete(
        follow_up=follow_up, by=staff_user, note="  Sent the note. "
    )

    done.refresh_from_db()
    assert done.status == FollowUp.Status.DONE
    assert done.completion_note == "Sent the note."
    assert done.completed_by == staff_user
    assert done.completed_at is not None


@pytest.mark.parametrize("note", ["", "   ", None])
def test_completing_needs_a_note(staff_user, note):
    follow_up = factories.FollowUpFactory()

    with pytest.raises(ValidationError) as excinfo:
        services.follow_up_complete(follow_up=follow_up, by=staff_user, note=note)

    assert "completion_note" in excinfo.value.message_dict
    follow_up.refresh_from_db()
    assert follow_up.status == FollowUp.Status.OPEN


def test_a_closed_follow_up_cannot_be_completed_again(staff_user):
    follow_up = factories.FollowUpFactory(status=FollowUp.Status.CANCELLED)

    with pytest.raises(ValidationError) as excinfo:
        services.follow_up_complete(follow_up=follow_up, by=staff_user, note="Done.")

    assert "status" in excinfo.value.message_dict


def test_reassigning_changes_the_assignee_and_keeps_history(staff_user, coordinator):
    follow_up = factories.FollowUpFactory(assignee=staff_user)

    services.follow_up_reassign(follow_up=follow_up, assignee=coordinator, by=coordinator)

    follow_up.refresh_from_db()
    assert follow_up.assignee == coordinator
    latest = follow_up.history.latest()
    assert latest.history_user == coordinator
    assert latest.prev_record.assignee_id == staff_user.pk


def test_changing_stage_writes_a_stage_change(staff_user):
    partnership = factories.PartnershipFactory(stage=Partnership.Stage.CONTACTED)

    change = services.partnership_change_stage(
        partnership=partnership, to_stage=Partnership.Stage.EXPLORING, by=staff_user, note="Call."
    )

    partnership.refresh_from_db()
    assert partnership.stage == Partnership.Stage.EXPLORING
    assert (change.from_stage, change.to_stage, change.changed_by, change.note) == (
        "contacted",
        "exploring",
        staff_user,
        "Call.",
    )
    assert list(partnership.stage_changes.all()) == [change]


def test_changing_to_the_same_stage_is_refused(staff_user):
    partnership = factories.PartnershipFactory(stage=Partnership.Stage.CONTACTED)

    with pytest.raises(ValidationError):
        services.partnership_change_stage(
            partnership=partnership, to_stage="contacted", by=staff_user
        )

    assert not StageChange.objects.exists()


def test_changing_to_an_unknown_stage_is_refused(staff_user):
    partnership = factories.PartnershipFactory()

    with pytest.raises(ValidationError) as excinfo:
        services.partnership_change_stage(partnership=partnership, to_stage="won", by=staff_user)

    assert "stage" in excinfo.value.message_dict


def test_stage_change_is_atomic(staff_user):
    partnership = factories.PartnershipFactory(stage=Partnership.Stage.CONTACTED)

    with (
        mock.patch(
            "crm.services.partnerships.save_with_history", side_effect=RuntimeError("disk full")
        ),
        pytest.raises(RuntimeError),
    ):
        services.partnership_change_stage(
            partnership=partnership, to_stage="exploring", by=staff_user
        )

    partnership.refresh_from_db()
    assert partnership.stage == "contacted"
    assert not StageChange.objects.exists()


def test_creating_a_partnership_records_its_first_stage(staff_user):
    organization, project = factories.OrganizationFactory(), factories.ProjectFactory()

    partnership = services.partnership_create(
        by=staff_user,
        organization=organization,
        project=project,
        role=Partnership.Role.FUNDER,
        stage=Partnership.Stage.CONTACTED,
    )

    partnership.refresh_from_db()
    assert partnership.stage == Partnership.Stage.CONTACTED
    assert partnership.history.get().history_user == staff_user
    change = StageChange.objects.get()
    assert (change.partnership, change.from_stage, change.to_stage, change.changed_by) == (
        partnership,
        "",
        "contacted",
        staff_user,
    )
    assert change.note == "" and change.changed_at is not None
    assert str(change).endswith(f"— → {change.get_to_stage_display()}")


def test_a_partnership_breaking_the_rules_is_not_created(staff_user):
    existing = factories.PartnershipFactory()

    with pytest.raises(ValidationError) as excinfo:
        services.partnership_create(
            by=staff_user,
            organization=existing.organization,
            project=existing.project,
            role=Partnership.Role.FUNDER,
        )

    assert "__all__" in excinfo.value.message_dict
    assert Partnership.objects.count() == 1
    assert not StageChange.objects.exists()


def log(by, **overrides):
    organization = factories.OrganizationFactory()
    project = factories.ProjectFactory()
    values = dict(
        by=by,
        kind=Interaction.Kind.MEETING,
        occurred_on=date(2026, 1, 10),
        title="Meeting in Lomé",
        organizations=[organization],
        projects=[project],
        follow_ups=[
            dict(title="Send the concept note", project=project, due_on=date(2026, 1, 20)),
            dict(title="Call back", project=project, due_on=date(2026, 1, 30), assignee=by),
        ],
    )
    values.update(overrides)
    return services.interaction_log(**values)


def test_logging_an_interaction_creates_it_with_its_follow_ups(staff_user):
    interaction = log(staff_user)

    assert interaction.created_by == staff_user
    assert interaction.organizations.count() == 1
    assert interaction.projects.count() == 1
    titles = list(interaction.follow_ups.order_by("due_on").values_list("title", "created_by"))
    assert titles == [("Send the concept note", staff_user.pk), ("Call back", staff_user.pk)]


def test_logging_with_one_bad_follow_up_saves_nothing_and_names_it(staff_user):
    project = factories.ProjectFactory()
    with pytest.raises(ValidationError) as excinfo:
        log(
            staff_user,
            follow_ups=[
                dict(title="Good", project=project, due_on=date(2026, 1, 20)),
                dict(title="", project=project, due_on=None),
            ],
        )

    assert list(excinfo.value.message_dict) == ["follow_ups[1]"]
    assert not Interaction.objects.exists()
    assert not FollowUp.objects.exists()


def test_logging_an_interaction_needs_an_organization(staff_user):
    with pytest.raises(ValidationError) as excinfo:
        log(staff_user, organizations=[])

    assert "organizations" in excinfo.value.message_dict
    assert not Interaction.objects.exists()


def test_logging_an_interaction_with_a_bad_kind_is_a_field_error(staff_user):
    with pytest.raises(ValidationError) as excinfo:
        log(staff_user, kind="telepathy")

    assert "kind" in excinfo.value.message_dict
    assert not Interaction.objects.exists()


def test_creating_an_interaction_checks_it_and_records_its_author(staff_user):
    interaction = services.interaction_create(
        by=staff_user,
        kind=Interaction.Kind.CALL,
        occurred_on=date(2026, 1, 10),
        title="Call with the bank",
    )

    assert interaction.created_by == staff_user
    assert interaction.slug.startswith("call-with-the-bank-20260110-")
    assert interaction.history.get().history_user == staff_user
    with pytest.raises(ValidationError) as caught:
        services.interaction_create(by=staff_user, kind="telepathy", occurred_on=None, title="")
    assert {"kind", "occurred_on", "title"} <= set(caught.value.message_dict)
    assert Interaction.objects.count() == 1


# Snoozing, waiting, creating.


def test_snoozing_moves_the_due_date_and_keeps_the_reason_in_history(staff_user, today):
    follow_up = factories.FollowUpFactory(due_on=today)

    services.follow_up_snooze(
        follow_up=follow_up,
        due_on=date(2026, 2, 1),
        reason=" Partner on leave ",
        by=staff_user,
        today=today,
    )

    follow_up.refresh_from_db()
    assert follow_up.due_on == date(2026, 2, 1)
    latest = follow_up.history.first()
    assert (latest.history_user, latest.history_change_reason) == (
        staff_user,
        "Partner on leave",
    )


def test_snoozing_refuses_a_past_date_and_a_missing_reason(staff_user, today):
    follow_up = factories.FollowUpFactory(due_on=today)

    with pytest.raises(ValidationError) as caught:
        services.follow_up_snooze(
            follow_up=follow_up, due_on=date(2026, 1, 14), reason=" ", by=staff_user, today=today
        )

    assert set(caught.value.message_dict) == {"due_on", "reason"}
    follow_up.refresh_from_db()
    assert follow_up.due_on == today


def test_snoozing_a_closed_follow_up_is_refused(staff_user, today):
    follow_up = factories.FollowUpFactory(status="cancelled")

    with pytest.raises(ValidationError) as caught:
        services.follow_up_snooze(
            follow_up=follow_up, due_on=today, reason="Later", by=staff_user, today=today
        )

    assert "status" in caught.value.message_dict


def test_marking_waiting_sets_the_status_and_records_who(staff_user):
    follow_up = factories.FollowUpFactory()

    services.follow_up_mark_waiting(follow_up=follow_up, by=staff_user)

    follow_up.refresh_from_db()
    assert follow_up.status == FollowUp.Status.WAITING
    assert follow_up.history.first().history_user == staff_user


def test_creating_a_follow_up_checks_it_and_records_its_author(staff_user):
    project = factories.ProjectFactory()

    follow_up = services.follow_up_create(
        by=staff_user, title="Call back", project=project, due_on=date(2026, 2, 1)
    )

    assert follow_up.created_by == staff_user
    assert follow_up.history.first().history_user == staff_user
    with pytest.raises(ValidationError) as caught:
        services.follow_up_create(by=staff_user, title="", project=project, due_on=None)
    assert {"title", "due_on"} <= set(caught.value.message_dict)


def test_a_closed_follow_up_cannot_be_reassigned(staff_user, coordinator):
    follow_up = factories.FollowUpFactory(status=FollowUp.Status.CANCELLED, assignee=staff_user)

    with pytest.raises(ValidationError) as excinfo:
        services.follow_up_reassign(follow_up=follow_up, assignee=coordinator, by=coordinator)

    assert "status" in excinfo.value.message_dict
    follow_up.refresh_from_db()
    assert follow_up.assignee == staff_user
