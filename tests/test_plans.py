"""Follow-up plans: reusable steps, applied to an interaction in one go."""

from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import IntegrityError

from crm import services
from crm.models import FollowUp, FollowUpPlan, FollowUpPlanStep
from tests import factories

pytestmark = pytest.mark.django_db


def make_plan(*steps: tuple[int, str]) -> FollowUpPlan:
    plan = FollowUpPlan.objects.create(slug="after-first-meeting", name="After a first meeting")
    for offset, title in steps:
        FollowUpPlanStep.objects.create(plan=plan, offset_days=offset, title=title)
    return plan


def test_a_plan_has_one_step_of_each_title():
    plan = make_plan((2, "Thank-you note"))

    with pytest.raises(IntegrityError):
        FollowUpPlanStep.objects.create(plan=plan, offset_days=5, title="Thank-you note")


def test_steps_come_in_order_of_their_offset():
    plan = make_plan((30, "Call"), (2, "Thank-you note"), (14, "Concept note"))

    assert [step.offset_days for step in plan.steps.all()] == [2, 14, 30]


def test_applying_a_plan_opens_one_follow_up_per_step_from_the_interactions_date(staff_user):
    plan = make_plan((2, "Thank-you note"), (14, "Concept note"), (30, "Call"))
    organization = factories.OrganizationFactory()
    project = factories.ProjectFactory()
    interaction = factories.InteractionFactory(
        occurred_on=date(2026, 1, 10), organizations=[organization]
    )
    interaction.projects.set([project])

    created = services.follow_up_plan_apply(
        plan=plan, interaction=interaction, by=staff_user, today=date(2026, 1, 10)
    )

    assert [(f.title, f.due_on) for f in created] == [
        ("Thank-you note", date(2026, 1, 12)),
        ("Concept note", date(2026, 1, 24)),
        ("Call", date(2026, 2, 9)),
    ]
    for follow_up in created:
        assert (follow_up.project, follow_up.organization) == (project, organization)
        assert (follow_up.interaction, follow_up.assignee) == (interaction, staff_user)
        assert follow_up.history.first().history_user == staff_user


def test_a_plan_applied_late_opens_nothing_already_overdue(staff_user, today):
    plan = make_plan((2, "Thank-you note"), (60, "Call"))
    interaction = factories.InteractionFactory(occurred_on=date(2025, 12, 1))
    project = factories.ProjectFactory()

    created = services.follow_up_plan_apply(
        plan=plan, interaction=interaction, by=staff_user, project=project, today=today
    )

    assert [f.due_on for f in created] == [today, date(2026, 1, 30)]


def test_applying_a_plan_needs_a_project_when_the_interaction_has_several(staff_user, today):
    plan = make_plan((2, "Thank-you note"))
    interaction = factories.InteractionFactory()
    interaction.projects.set([factories.ProjectFactory(), factories.ProjectFactory()])

    with pytest.raises(ValidationError) as caught:
        services.follow_up_plan_apply(plan=plan, interaction=interaction, by=staff_user)

    assert "project" in caught.value.message_dict
    assert not FollowUp.objects.exists()


def test_load_demo_creates_the_example_plan_once():
    call_command("loaddata", "compact_togo_2023", verbosity=0)

    call_command("load_demo", verbosity=0)
    call_command("load_demo", verbosity=0)

    plan = FollowUpPlan.objects.get(slug="apres-une-premiere-rencontre")
    assert [step.offset_days for step in plan.steps.all()] == [2, 14, 30]


def test_plans_are_managed_in_the_admin_with_their_steps(client, coordinator):
    make_plan((2, "Thank-you note"))
    client.force_login(coordinator)

    changelist = client.get("/admin/crm/followupplan/")
    change = client.get(f"/admin/crm/followupplan/{FollowUpPlan.objects.get().pk}/change/")

    assert changelist.status_code == 200
    assert "After a first meeting" in changelist.text
    assert change.status_code == 200
    assert 'value="Thank-you note"' in change.text
