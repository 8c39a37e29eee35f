"""Counts of open follow-ups per deadline, at the same cost at 10,000 and 1,000,000.

Counting every open follow-up of the team grows with the history. Instead:

- the totals per (project, assignee, status) are kept by the database
  (``OpenFollowUpCount``, migration 0018): a few hundred rows at most;
- the follow-ups still in time (``in_time_q``: due from today on, or waiting
  since recently) are counted in the table itself: few at any time, read
  through the partial indexes on ``due_on`` and ``waiting_since``;
- overdue is then the open work whose move is ours less what is still in time,
  and "waiting too long" the waiting less what has waited only briefly.

Demonstration follow-ups (``is_demo``) are in the kept totals, like any row;
they are counted apart (few, through crm_followup_demo_idx) and taken away, so
that every figure here is real work only; ``demo_counts_by_project`` and
``demo_counts_of`` give them, for pages that show them apart.

Each result equals ``FollowUpQuerySet.deadline_counts`` on the same real
follow-ups (tests/test_tallies.py).
"""

from collections import defaultdict
from datetime import date

from django.db.models import Count, Q, Sum

from crm.managers import DEADLINE_GROUPS, OUR_MOVE_STATUSES, Deadline, deadline_q, in_time_q
from crm.models import FollowUp, FollowUpStatus, OpenFollowUpCount

# Counted among the follow-ups still in time; the other groups are derived.
COUNTED = (Deadline.TODAY, Deadline.WEEK, Deadline.LATER)
WAITED_BRIEFLY = "waited_briefly"


def deadline_counts_by_project(*, today: date) -> dict[int, dict[str, int]]:
    """Return, per project id, its open real follow-ups (``open``) and each ``Deadline``'s count.

    The same as ``FollowUp.objects.filter(is_demo=False).deadline_counts_by_project(
    today=today)``, in three small queries.
    """
    demo = demo_counts_by_project(today=today)
    return {
        project: _less(row, demo.get(project, {}))
        for project, row in _all_counts_by_project(today=today).items()
    }


def demo_counts_by_project(*, today: date) -> dict[int, dict[str, int]]:
    """Return ``deadline_counts_by_project``'s figures for the demonstration follow-ups only."""
    return FollowUp.objects.filter(is_demo=True).deadline_counts_by_project(today=today)


def _all_counts_by_project(*, today: date) -> dict[int, dict[str, int]]:
    statuses: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in OpenFollowUpCount.objects.values("project", "status").annotate(n=Sum("total")):
        statuses[row["project"]][row["status"]] += row["n"]
    in_time = {
        row.pop("project"): row
        for row in FollowUp.objects.filter(in_time_q(today=today))
        .order_by()
        .values("project")
        .annotate(**_in_time_counts(today))
    }
    return {
        project: _derive(by_status, in_time.get(project, {}))
        for project, by_status in statuses.items()
    }


def deadline_counts_by_assignee(*, today: date) -> dict[int, dict[str, int]]:
    """Return, per assignee id (0 for nobody), ``deadline_counts_of``'s figures: real work only.

    The same as ``FollowUp.objects.filter(is_demo=False).deadline_counts_by(
    "assignee", today=today)``, in three small queries whatever the number of staff.
    """
    statuses: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in OpenFollowUpCount.objects.values("assignee_key", "status").annotate(n=Sum("total")):
        statuses[row["assignee_key"]][row["status"]] += row["n"]
    in_time = {
        row.pop("assignee") or 0: row
        for row in FollowUp.objects.filter(in_time_q(today=today))
        .order_by()
        .values("assignee")
        .annotate(**_in_time_counts(today))
    }
    demo = {
        key or 0: row
        for key, row in FollowUp.objects.filter(is_demo=True)
        .deadline_counts_by("assignee", today=today)
        .items()
    }
    return {
        assignee: _less(_derive(by_status, in_time.get(assignee, {})), demo.get(assignee, {}))
        for assignee, by_status in statuses.items()
    }


def deadline_counts_of(assignee, *, today: date) -> dict[str, int]:
    """Return ``assignee``'s open follow-ups (``open``) and each ``Deadline``'s count."""
    statuses: dict[str, int] = defaultdict(int)
    totals = OpenFollowUpCount.objects.filter(assignee_key=assignee.pk)
    for row in totals.values("status").annotate(n=Sum("total")):
        statuses[row["status"]] += row["n"]
    in_time = FollowUp.objects.filter(in_time_q(today=today), assignee=assignee).aggregate(
        **_in_time_counts(today)
    )
    return _less(_derive(statuses, in_time), demo_counts_of(assignee, today=today))


def demo_counts_of(assignee, *, today: date) -> dict[str, int]:
    """Return ``deadline_counts_of``'s figures for ``assignee``'s demonstration follow-ups."""
    demo = FollowUp.objects.filter(is_demo=True, assignee=assignee).deadline_counts(today=today)
    # The groups split the open follow-ups: their sum is the open ones.
    return {"open": sum(demo[key] for key in DEADLINE_GROUPS), **demo}


def _less(counts: dict[str, int], demo: dict[str, int]) -> dict[str, int]:
    return {key: value - demo.get(key, 0) for key, value in counts.items()}


def _in_time_counts(today: date) -> dict[str, Count]:
    # COUNT(status), never NULL: the partial indexes hold it.
    return {
        **{group: Count("status", filter=deadline_q(group, today=today)) for group in COUNTED},
        WAITED_BRIEFLY: Count("status", filter=Q(status=FollowUpStatus.WAITING)),
    }


def _derive(statuses: dict[str, int], in_time: dict[str, int]) -> dict[str, int]:
    ours = sum(statuses.get(status, 0) for status in OUR_MOVE_STATUSES)
    waiting = statuses.get(FollowUpStatus.WAITING, 0)
    counted = {group: in_time.get(group, 0) for group in COUNTED}
    return {
        "open": ours + waiting,
        Deadline.OVERDUE: ours - sum(counted.values()),
        **counted,
        Deadline.WAITING: waiting,
        Deadline.WAITING_TOO_LONG: waiting - in_time.get(WAITED_BRIEFLY, 0),
    }


def count_projects(projects, *, today: date) -> list:
    """Set ``open_count``, ``overdue_count``, ``due_soon_count`` and ``demo_open_count``.

    The first three are the figures of ``Project.objects.with_follow_up_counts()``
    for real follow-ups, from the kept totals; the last counts the open
    demonstration ones, shown apart. Three small queries whatever the number of
    follow-ups.
    """
    demo = demo_counts_by_project(today=today)
    counts = {
        project: _less(row, demo.get(project, {}))
        for project, row in _all_counts_by_project(today=today).items()
    }
    projects = list(projects)
    for project in projects:
        row = counts.get(project.pk, {})
        project.open_count = row.get("open", 0)
        project.overdue_count = row.get(Deadline.OVERDUE, 0)
        project.due_soon_count = row.get(Deadline.TODAY, 0) + row.get(Deadline.WEEK, 0)
        # Shown apart, never added: the open demonstration follow-ups.
        project.demo_open_count = demo.get(project.pk, {}).get("open", 0)
    return projects
