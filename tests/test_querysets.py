"""Reads: which follow-ups are open, late or due soon; which partnerships are stale."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from crm.models import FollowUp, Partnership
from tests import factories

pytestmark = pytest.mark.django_db


def follow_up(due_on: date, status: str = FollowUp.Status.OPEN, **kwargs) -> FollowUp:
    if status == FollowUp.Status.DONE:
        kwargs.update(completed_at=timezone.now(), completion_note="Done.")
    return factories.FollowUpFactory(due_on=due_on, status=status, **kwargs)


def test_open_excludes_done_and_cancelled():
    kept = [
        follow_up(date(2026, 1, 1), status)
        for status in (FollowUp.Status.OPEN, FollowUp.Status.IN_PROGRESS, FollowUp.Status.WAITING)
    ]
    follow_up(date(2026, 1, 1), FollowUp.Status.DONE)
    follow_up(date(2026, 1, 1), FollowUp.Status.CANCELLED)

    assert set(FollowUp.objects.open()) == set(kept)


def test_overdue_is_open_and_due_before_today(today):
    late = follow_up(today - timedelta(days=1))
    follow_up(today)
    follow_up(today - timedelta(days=10), FollowUp.Status.DONE)

    assert list(FollowUp.objects.overdue(today=today)) == [late]


def test_overdue_excludes_completed(today):
    follow_up(today - timedelta(days=3), FollowUp.Status.DONE)

    assert not FollowUp.objects.overdue(today=today).exists()


def test_due_soon_includes_both_ends_and_nothing_late(today):
    follow_up(today - timedelta(days=1))
    due_today = follow_up(today)
    in_a_week = follow_up(today + timedelta(days=7))
    follow_up(today + timedelta(days=8))
    follow_up(today + timedelta(days=2), FollowUp.Status.CANCELLED)

    assert list(FollowUp.objects.due_soon(today=today)) == [due_today, in_a_week]


def test_for_assignee_keeps_only_their_follow_ups(today):
    mine = follow_up(today, assignee=factories.UserFactory(username="me"))
    follow_up(today, assignee=factories.UserFactory(username="colleague"))
    follow_up(today)

    assert list(FollowUp.objects.for_assignee(mine.assignee)) == [mine]


def test_follow_up_derived_flags(today):
    late = follow_up(today - timedelta(days=1))
    this_week = follow_up(today + timedelta(days=3))

    assert late.is_overdue(today=today)
    assert not this_week.is_overdue(today=today)


def meeting(organization, occurred_on: date):
    return factories.InteractionFactory(organizations=[organization], occurred_on=occurred_on)


def test_last_contact_is_the_latest_interaction_with_the_organization():
    partnership = factories.PartnershipFactory()
    meeting(partnership.organization, date(2025, 11, 1))
    meeting(partnership.organization, date(2025, 12, 20))
    meeting(factories.OrganizationFactory(), date(2026, 1, 10))

    annotated = Partnership.objects.with_last_contact(today=date(2026, 1, 15)).get()

    assert annotated.last_contact_on == date(2025, 12, 20)


def test_last_contact_is_empty_without_interactions():
    factories.PartnershipFactory()

    annotated = Partnership.objects.with_last_contact(today=date(2026, 1, 15)).get()

    assert annotated.last_contact_on is None


def test_cadence_is_the_partnerships_own_else_its_stages_default(settings):
    settings.CRM_CONTACT_CADENCE_DAYS = {"contacted": 21, "exploring": 10}
    own = factories.PartnershipFactory(stage="contacted", contact_cadence_days=5)
    default = factories.PartnershipFactory(stage="exploring")

    cadences = dict(Partnership.objects.with_cadence().values_list("pk", "cadence_days"))

    assert cadences == {own.pk: 5, default.pk: 10}


def test_stale_when_last_contact_is_older_than_the_cadence(today):
    quiet = factories.PartnershipFactory(contact_cadence_days=14)
    meeting(quiet.organization, today - timedelta(days=15))
    on_time = factories.PartnershipFactory(contact_cadence_days=14)
    meeting(on_time.organization, today - timedelta(days=14))

    assert list(Partnership.objects.stale(today=today)) == [quiet]


def test_never_contacted_partnership_is_stale_once_its_cadence_has_passed_since_creation(today):
    recorded = factories.PartnershipFactory(contact_cadence_days=7)
    Partnership.objects.filter(pk=recorded.pk).update(
        created_at=timezone.make_aware(timezone.datetime(2026, 1, 1, 12))
    )

    assert list(Partnership.objects.stale(today=today)) == [recorded]
    assert not Partnership.objects.stale(today=date(2026, 1, 8)).exists()


def test_closed_partnerships_are_never_stale(today):
    closed = factories.PartnershipFactory(stage="closed", contact_cadence_days=1)
    meeting(closed.organization, today - timedelta(days=400))

    assert not Partnership.objects.stale(today=today).exists()


def test_stale_uses_the_stage_default_cadence(settings, today):
    settings.CRM_CONTACT_CADENCE_DAYS = {"contacted": 30}
    partnership = factories.PartnershipFactory(stage="contacted")
    meeting(partnership.organization, today - timedelta(days=31))

    assert list(Partnership.objects.stale(today=today)) == [partnership]
    assert not Partnership.objects.stale(today=today - timedelta(days=1)).exists()


@pytest.mark.parametrize(
    ("days_since_contact", "staleness"),
    [(21, ""), (22, "amber"), (31, "amber"), (32, "red")],
)
def test_staleness_is_amber_past_the_cadence_and_red_past_one_and_a_half(
    today, days_since_contact, staleness
):
    # 1.5 × 21 days is 31 days: integer division on both databases.
    partnership = factories.PartnershipFactory(contact_cadence_days=21)
    meeting(partnership.organization, today - timedelta(days=days_since_contact))

    annotated = Partnership.objects.with_staleness(today=today).get()

    assert annotated.staleness == staleness


def test_closed_partnerships_have_no_staleness(today):
    closed = factories.PartnershipFactory(stage="closed", contact_cadence_days=1)
    meeting(closed.organization, today - timedelta(days=400))

    assert Partnership.objects.with_staleness(today=today).get().staleness == ""


def test_last_contact_precision_is_the_latest_interactions(today):
    partnership = factories.PartnershipFactory()
    factories.InteractionFactory(
        occurred_on=date(2023, 9, 1),
        date_precision="late_month",
        organizations=[partnership.organization],
    )

    annotated = Partnership.objects.with_staleness(today=today).get()

    assert annotated.last_contact_on == date(2023, 9, 1)
    assert annotated.last_contact_precision == "late_month"


def test_next_follow_up_is_the_earliest_open_one_of_the_partnership():
    partnership = factories.PartnershipFactory()
    same = {"organization": partnership.organization, "project": partnership.project}
    factories.FollowUpFactory(due_on=date(2026, 3, 1), **same)
    factories.FollowUpFactory(due_on=date(2026, 2, 1), **same)
    factories.FollowUpFactory(due_on=date(2026, 1, 1), status="cancelled", **same)
    factories.FollowUpFactory(due_on=date(2025, 1, 1), organization=partnership.organization)

    annotated = Partnership.objects.with_next_follow_up().get()

    assert annotated.next_follow_up_on == date(2026, 2, 1)


def test_a_follow_up_waiting_on_the_partner_is_not_overdue(today):
    follow_up(today - timedelta(days=30), FollowUp.Status.WAITING, waiting_since=today)

    assert not FollowUp.objects.overdue(today=today).exists()


def test_project_chart_counts_follow_ups_waiting_on_the_partner_as_open_not_overdue(today):
    from crm.models import Project

    waiting = follow_up(today - timedelta(days=30), FollowUp.Status.WAITING, waiting_since=today)
    follow_up(today - timedelta(days=1), project=waiting.project)

    project = Project.objects.with_follow_up_counts(today=today).get(pk=waiting.project_id)

    assert (project.open_count, project.overdue_count) == (2, 1)


def test_a_meeting_planned_after_today_is_not_the_last_contact(today):
    partnership = factories.PartnershipFactory(contact_cadence_days=14)
    meeting(partnership.organization, today - timedelta(days=40))
    meeting(partnership.organization, today + timedelta(days=10))

    annotated = Partnership.objects.with_last_contact(today=today).get()

    assert annotated.last_contact_on == today - timedelta(days=40)
    assert list(Partnership.objects.stale(today=today)) == [partnership]


def test_is_overdue_agrees_with_the_queryset(today):
    late = follow_up(today - timedelta(days=3))
    waiting = follow_up(today - timedelta(days=3), FollowUp.Status.WAITING, waiting_since=today)

    flagged = {f.pk for f in FollowUp.objects.all() if f.is_overdue(today=today)}

    assert flagged == set(FollowUp.objects.overdue(today=today).values_list("pk", flat=True))
    assert flagged == {late.pk}
    assert not waiting.is_overdue(today=today)
