"""One meaning, one place: every surface agrees on overdue, due today, this week, waiting.

One data set sits on each boundary of the follow-ups' calendar, as of TODAY:
yesterday, today, today + 7 (the last day of "this week"), today + 8, waiting
on the partner for 14 days (not too long yet) and for 15 (too long), plus
closed work that is nowhere. Each surface (the dashboard's groups, the digest's
counts, the API's filters, the admin's filters, the export's ``is_overdue`` and
the projects' counts) is read and must sort it exactly like ``EXPECTED``.
"""

import csv
import io
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from crm import digests
from crm.managers import WAITING_TOO_LONG_DAYS, WEEK_DAYS, Deadline
from crm.models import FollowUp, Project
from tests import factories
from tests.conftest import TODAY

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("pages_today")]

DAY = timedelta(days=1)

# Title -> the Deadline groups it belongs to ("waiting too long" is part of "waiting").
EXPECTED = {
    "yesterday": {Deadline.OVERDUE},
    "yesterday, in progress": {Deadline.OVERDUE},
    "today": {Deadline.TODAY},
    "tomorrow": {Deadline.WEEK},
    "today + 7": {Deadline.WEEK},
    "today + 8": {Deadline.LATER},
    "waiting 14 days": {Deadline.WAITING},
    "waiting 15 days": {Deadline.WAITING, Deadline.WAITING_TOO_LONG},
    "done yesterday": set(),
    "cancelled today": set(),
}


def titles_in(deadline: str) -> set[str]:
    return {
        title for title, groups in EXPECTED.items() if deadline.removesuffix(" (count)") in groups
    }


# The digest's counts (what its subject line and log say) per Deadline.
DIGEST_COUNTS = {Deadline.OVERDUE: "overdue", Deadline.WAITING_TOO_LONG: "waiting"}


@pytest.fixture
def boundary(coordinator):
    project = factories.ProjectFactory(code="hub")
    waiting = FollowUp.Status.WAITING

    def make(title, due_on, status=FollowUp.Status.OPEN, **fields):
        return factories.FollowUpFactory(
            title=title,
            due_on=due_on,
            status=status,
            assignee=coordinator,
            project=project,
            **fields,
        )

    make("yesterday", TODAY - DAY)
    make("yesterday, in progress", TODAY - DAY, FollowUp.Status.IN_PROGRESS)
    make("today", TODAY)
    make("tomorrow", TODAY + DAY)
    make("today + 7", TODAY + WEEK_DAYS * DAY)
    make("today + 8", TODAY + (WEEK_DAYS + 1) * DAY)
    # Waiting work is never overdue, whatever its date.
    make(
        "waiting 14 days", TODAY - DAY, waiting, waiting_since=TODAY - WAITING_TOO_LONG_DAYS * DAY
    )
    make(
        "waiting 15 days",
        TODAY - DAY,
        waiting,
        waiting_since=TODAY - (WAITING_TOO_LONG_DAYS + 1) * DAY,
    )
    make(
        "done yesterday",
        TODAY - DAY,
        FollowUp.Status.DONE,
        completed_at=timezone.now(),
        completion_note="Sent",
    )
    make("cancelled today", TODAY, FollowUp.Status.CANCELLED)
    return project


# Each surface answers: title sets per Deadline key it can tell apart.


def dashboard(client, coordinator) -> dict[str, set[str]]:
    client.force_login(coordinator)
    groups = client.get("/?scope=team").context["groups"]
    return {group.key: {f.title for f in group.follow_ups} for group in groups}


def dashboard_counts(client, coordinator) -> dict[str, int]:
    """The group headers' counts (mine and team) and the chart's bars."""
    client.force_login(coordinator)
    answer = {}
    for url in ("/", "/?scope=team"):
        response = client.get(url)
        for group in response.context["groups"]:
            answer[f"{group.key} (count)"] = group.total
        (bar,) = [b for b in response.context["chart"]["bars"] if b["project"].code == "hub"]
        assert bar["project"].open_count == len([t for t, g in EXPECTED.items() if g])
        assert bar["project"].overdue_count == answer["overdue (count)"]
    return answer


def admin_filters(client, coordinator) -> dict[str, set[str]]:
    client.force_login(coordinator)
    changelist = reverse("admin:crm_followup_changelist")
    answer = {}
    for key in Deadline.values:
        response = client.get(changelist, {"deadline": key})
        answer[key] = {f.title for f in response.context["cl"].result_list}
    return answer


def api_filters(client, coordinator) -> dict[str, set[str]]:
    from rest_framework.test import APIClient

    api = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    api.force_authenticate(coordinator)
    answer = {}
    for key in Deadline.values:
        response = api.get("/api/v1/follow-ups/", {"deadline": key})
        assert response.status_code == 200, response.content
        answer[key] = {row["title"] for row in response.json()["results"]}
    overdue = api.get("/api/v1/follow-ups/", {"overdue": "true"}).json()["results"]
    not_overdue = api.get("/api/v1/follow-ups/", {"overdue": "false"}).json()["results"]
    # The negation is the same rule, turned round.
    assert {row["title"] for row in not_overdue} == set(EXPECTED) - titles_in(Deadline.OVERDUE)
    assert {row["title"] for row in overdue} == answer[Deadline.OVERDUE]
    return answer


def export_is_overdue(client, coordinator) -> dict[str, set[str]]:
    from rest_framework.test import APIClient

    api = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    api.force_authenticate(coordinator)
    response = api.get("/api/v1/follow-ups/", {"format": "csv"})
    assert response.status_code == 200
    content = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(content)))
    flags = {row["Overdue"] for row in rows}
    assert len(flags) == 2, flags
    # And the database's own spelling, for the export's SQL (COPY) path.
    in_sql = FollowUp.objects.with_is_overdue(today=TODAY).filter(is_overdue=True)
    assert {f.title for f in in_sql} == titles_in(Deadline.OVERDUE)
    return {
        Deadline.OVERDUE: {
            row["Title"] for row in rows if row["Overdue"] in ("True", "true", "yes")
        }
    }


def digest_counts(client, coordinator) -> dict[str, set[str] | int]:
    digest = digests.compute(coordinator, on=TODAY)
    soon = {f.title for f in digest.due_soon}
    assert soon == titles_in(Deadline.TODAY) | titles_in(Deadline.WEEK)
    assert digest.counts["due_soon"] == len(soon)
    return {
        Deadline.OVERDUE: {f.title for f in digest.overdue},
        Deadline.WAITING_TOO_LONG: {f.title for f in digest.waiting},
    } | {f"{key} (count)": digest.counts[name] for key, name in DIGEST_COUNTS.items()}


def project_counts(client, coordinator) -> dict[str, int]:
    project = Project.objects.with_follow_up_counts(today=TODAY).get(code="hub")
    summary = next(row for row in digests.team_summary(on=TODAY) if row.project.code == "hub")
    assert (summary.open_count, summary.overdue_count, summary.due_soon_count) == (
        project.open_count,
        project.overdue_count,
        project.due_soon_count,
    )
    assert project.open_count == len([title for title, groups in EXPECTED.items() if groups])
    soon = len(titles_in(Deadline.TODAY) | titles_in(Deadline.WEEK))
    assert project.due_soon_count == soon
    return {Deadline.OVERDUE: project.overdue_count}


SURFACES = [
    dashboard,
    dashboard_counts,
    admin_filters,
    api_filters,
    export_is_overdue,
    digest_counts,
    project_counts,
]


@pytest.mark.parametrize("surface", SURFACES, ids=[surface.__name__ for surface in SURFACES])
def test_every_surface_sorts_the_boundaries_alike(client, coordinator, boundary, surface):
    answer = surface(client, coordinator)

    assert answer, surface.__name__
    for key, found in answer.items():
        # A surface that only counts (the projects') is held to the count.
        expected = len(titles_in(key)) if isinstance(found, int) else titles_in(key)
        assert found == expected, key


def test_the_python_spelling_of_overdue_agrees_with_the_query(boundary):
    overdue = set(FollowUp.objects.overdue(today=TODAY).values_list("pk", flat=True))

    for follow_up in FollowUp.objects.all():
        assert follow_up.is_overdue(today=TODAY) == (follow_up.pk in overdue), follow_up.title


def test_waiting_too_long_agrees_with_the_query(boundary):
    too_long = set(FollowUp.objects.waiting_too_long(today=TODAY).values_list("pk", flat=True))

    for follow_up in FollowUp.objects.all():
        assert follow_up.is_waiting_too_long(today=TODAY) == (follow_up.pk in too_long)


def test_the_deadline_groups_split_the_open_follow_ups(boundary):
    counts = FollowUp.objects.deadline_counts(today=TODAY)

    groups = [Deadline.OVERDUE, Deadline.TODAY, Deadline.WEEK, Deadline.LATER, Deadline.WAITING]
    assert sum(counts[key] for key in groups) == FollowUp.objects.open().count()
    assert counts == {key: len(titles_in(key)) for key in Deadline.values}
