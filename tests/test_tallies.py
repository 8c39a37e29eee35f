"""The dashboard's counts from kept totals equal counting every open follow-up.

``crm.tallies`` starts from ``OpenFollowUpCount`` (kept by the database's
triggers, migration 0018) and counts only the follow-ups still in time. Whatever
moves a follow-up (services, a queryset update, a bulk insert, a deletion), the
result must equal ``FollowUpQuerySet.deadline_counts`` read from the table.
"""

import random
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from crm import services, tallies
from crm.managers import WAITING_TOO_LONG_DAYS, WEEK_DAYS, Deadline, in_time_q
from crm.models import FollowUp, OpenFollowUpCount
from tests import factories
from tests.conftest import TODAY

pytestmark = pytest.mark.django_db

DAY = timedelta(days=1)
WAITING = FollowUp.Status.WAITING

# Every boundary of the calendar as of TODAY, and far on both sides.
DUE_DATES = [
    TODAY - 400 * DAY,
    TODAY - DAY,
    TODAY,
    TODAY + DAY,
    TODAY + WEEK_DAYS * DAY,
    TODAY + (WEEK_DAYS + 1) * DAY,
    TODAY + 90 * DAY,
]
WAITING_SINCE = [
    TODAY - 300 * DAY,
    TODAY - (WAITING_TOO_LONG_DAYS + 1) * DAY,
    TODAY - WAITING_TOO_LONG_DAYS * DAY,
    TODAY,
]


def make(project, assignee, due_on, status=FollowUp.Status.OPEN, **fields) -> FollowUp:
    if status == WAITING:
        fields.setdefault("waiting_since", TODAY)
    if status == FollowUp.Status.DONE:
        fields.update(completed_at=timezone.now(), completion_note="Sent.")
    return factories.FollowUpFactory(
        project=project, assignee=assignee, due_on=due_on, status=status, **fields
    )


@pytest.fixture
def team():
    """Two projects, two people and nobody, every status on every boundary."""
    projects = factories.ProjectFactory.create_batch(2)
    people = [factories.UserFactory(), factories.UserFactory(), None]
    chance = random.Random(10)
    for project in projects:
        for person in people:
            for due_on in DUE_DATES:
                make(project, person, due_on)
                make(project, person, due_on, FollowUp.Status.IN_PROGRESS)
                if chance.random() < 0.5:
                    make(project, person, due_on, FollowUp.Status.DONE)
                make(project, person, due_on, FollowUp.Status.CANCELLED)
            for since in WAITING_SINCE:
                make(project, person, chance.choice(DUE_DATES), WAITING, waiting_since=since)
    return projects, people


def counted_by_project() -> dict:
    return FollowUp.objects.deadline_counts_by_project(today=TODAY)


def counted_for(person) -> dict:
    follow_ups = FollowUp.objects.for_assignee(person)
    return {"open": follow_ups.open().count(), **follow_ups.deadline_counts(today=TODAY)}


def assert_tallies_agree(people) -> None:
    assert tallies.deadline_counts_by_project(today=TODAY) == counted_by_project()
    for person in people:
        if person is not None:
            assert tallies.deadline_counts_of(person, today=TODAY) == counted_for(person)


def test_in_time_overdue_and_waiting_too_long_split_open_work(team):
    open_work = set(FollowUp.objects.open().values_list("pk", flat=True))
    parts = [
        set(FollowUp.objects.filter(in_time_q(today=TODAY)).values_list("pk", flat=True)),
        set(FollowUp.objects.overdue(today=TODAY).values_list("pk", flat=True)),
        set(FollowUp.objects.waiting_too_long(today=TODAY).values_list("pk", flat=True)),
    ]

    assert set().union(*parts) == open_work
    assert sum(len(part) for part in parts) == len(open_work)


def test_the_counts_equal_counting_every_open_follow_up(team):
    _projects, people = team

    assert_tallies_agree(people)
    assert tallies.deadline_counts_by_project(today=TODAY) != {}


def test_the_counts_follow_every_kind_of_move(team, coordinator):
    projects, people = team
    first, second = people[0], people[1]
    mine = FollowUp.objects.open().filter(assignee=first).order_by("pk")

    services.follow_up_complete(follow_up=mine[0], by=first, note="Called back.")
    services.follow_up_reassign(follow_up=mine[0], assignee=second, by=coordinator)
    services.follow_up_mark_waiting(follow_up=mine[1], by=first)
    services.follow_up_cancel(follow_up=mine[2], by=first, reason="No longer needed.")
    FollowUp.objects.filter(pk=mine[3].pk).update(project=projects[1])
    FollowUp.objects.filter(pk=mine[4].pk).delete()
    FollowUp.objects.bulk_create(
        FollowUp(title=f"Bulk {n}", project=projects[0], assignee=second, due_on=TODAY)
        for n in range(5)
    )

    assert_tallies_agree(people)


def test_the_counts_cost_three_queries_however_many_follow_ups(team, django_assert_num_queries):
    # The kept totals, the follow-ups still in time, the demonstration ones.
    _projects, people = team

    with django_assert_num_queries(3):
        tallies.deadline_counts_by_project(today=TODAY)
    with django_assert_num_queries(3):
        tallies.deadline_counts_of(people[0], today=TODAY)


def test_demonstration_follow_ups_are_counted_apart_never_with_real_work(team):
    projects, people = team
    real = tallies.deadline_counts_by_project(today=TODAY)
    real_of = tallies.deadline_counts_of(people[0], today=TODAY)

    factories.FollowUpFactory.create_batch(
        3, project=projects[0], assignee=people[0], due_on=TODAY - timedelta(days=2), is_demo=True
    )

    assert tallies.deadline_counts_by_project(today=TODAY) == real
    assert tallies.deadline_counts_of(people[0], today=TODAY) == real_of
    demo = tallies.demo_counts_by_project(today=TODAY)[projects[0].pk]
    assert (demo["open"], demo[Deadline.OVERDUE]) == (3, 3)
    assert tallies.demo_counts_of(people[0], today=TODAY)[Deadline.OVERDUE] == 3
    counted = tallies.count_projects([projects[0]], today=TODAY)[0]
    assert counted.demo_open_count == 3
    assert counted.open_count == real[projects[0].pk]["open"]


def test_the_kept_totals_hold_a_row_per_project_assignee_and_open_status(team):
    projects, people = team

    assert OpenFollowUpCount.objects.count() == len(projects) * len(people) * 3


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_follow_ups_completed_at_once_are_all_counted(postgres_only):
    """Two transactions adding to the same total: neither addition is lost."""
    project, person = factories.ProjectFactory(), factories.UserFactory()
    follow_ups = [make(project, person, TODAY) for _ in range(20)]
    barrier = threading.Barrier(2, timeout=30)
    errors: list[BaseException] = []

    def complete(half: list[FollowUp]) -> None:
        try:
            barrier.wait()
            for follow_up in half:
                services.follow_up_complete(follow_up=follow_up, by=person, note="Done.")
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=complete, args=(follow_ups[index::2],)) for index in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert tallies.deadline_counts_of(person, today=TODAY)["open"] == 0
    assert OpenFollowUpCount.objects.get(assignee_key=person.pk).total == 0


def test_the_dashboard_counts_come_from_the_kept_totals(team, client, coordinator):
    """Changing a kept total shows on the page: the dashboard reads them."""
    projects, _people = team
    client.force_login(coordinator)
    before = client.get("/?scope=team").context["groups"]
    OpenFollowUpCount.objects.filter(project=projects[0], status="open").update(total=0)

    after = client.get("/?scope=team").context["groups"]

    def overdue(groups) -> int:
        return next(group.total for group in groups if group.key == Deadline.OVERDUE)

    assert overdue(after) < overdue(before)


def test_the_projects_counts_equal_counting_every_open_follow_up(team):
    from crm.models import Project

    def figures(projects) -> list[tuple]:
        return sorted((p.pk, p.open_count, p.overdue_count, p.due_soon_count) for p in projects)

    counted = Project.objects.with_follow_up_counts(today=TODAY)
    kept = tallies.count_projects(Project.objects.all(), today=TODAY)

    assert figures(kept) == figures(counted)
    assert all(p.open_count for p in kept)


def test_the_counts_by_assignee_equal_counting_every_open_follow_up(
    team, django_assert_num_queries
):
    """The overview's "overdue per owner": kept totals, demo work taken away, nobody as 0."""
    projects, people = team
    for person in (people[0], None):
        factories.FollowUpFactory(
            project=projects[0], assignee=person, due_on=TODAY - timedelta(days=3), is_demo=True
        )
    counted = {
        (key or 0): row
        for key, row in FollowUp.objects.filter(is_demo=False)
        .deadline_counts_by("assignee", today=TODAY)
        .items()
    }

    with django_assert_num_queries(3):
        by_assignee = tallies.deadline_counts_by_assignee(today=TODAY)

    assert by_assignee == counted
    assert set(by_assignee) == {people[0].pk, people[1].pk, 0}
