"""The dashboard: my open follow-ups by urgency, partnerships gone quiet, the projects' chart."""

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from crm import clock, roles, tallies
from crm.agenda import dashboard_groups, first_and_total
from crm.calendar import calendar_url_for
from crm.managers import DEADLINE_GROUPS, Deadline
from crm.models import FollowUp, MailMessage, Partnership, Project
from crm.views import exports, sections
from crm.views.common import FOLLOW_UP_LIMIT, action_context, admin_follow_ups_url, require


def _project_chart(counts: dict[int, dict[str, int]]) -> dict[str, Any]:
    """Return the bars of the open-follow-ups-per-project chart (one query, for the names).

    ``counts`` is ``crm.tallies.deadline_counts_by_project()``: the same
    figures as ``Project.objects.with_follow_up_counts()``, from kept totals.
    """
    projects = list(Project.objects.only("code", "name").order_by("name"))
    for project in projects:
        row = counts.get(project.pk, {})
        project.open_count = row.get("open", 0)
        project.overdue_count = row.get(Deadline.OVERDUE, 0)
    bar_height, gap, label_width, bar_space = 22, 10, 170, 190
    largest = max((project.open_count for project in projects), default=0) or 1
    bars = []
    for index, project in enumerate(projects):
        y = index * (bar_height + gap)
        bars.append(
            {
                "project": project,
                "y": y,
                "text_y": y + bar_height - 6,
                "width": round(bar_space * project.open_count / largest),
                "overdue_width": round(bar_space * project.overdue_count / largest),
            }
        )
    return {
        "bars": bars,
        "bar_height": bar_height,
        "label_width": label_width,
        "count_x": label_width + bar_space + 8,
        "width": label_width + bar_space + 60,
        "height": max(len(bars) * (bar_height + gap), bar_height),
    }


# Partnerships gone quiet listed on the dashboard; the count says how many more.
QUIET_LIMIT = 50


@dataclass
class QuietPartnerships:
    """The quiet partnerships of the scope shown, and how many the rest of the team has."""

    partnerships: list[Partnership]
    total: int
    # Whether quiet partnerships lie outside the scope shown ("mine"), owned by
    # colleagues or by nobody: never hidden behind a reassuring message, and
    # never said to be a colleague's when nobody owns them.
    elsewhere_owned: bool
    elsewhere_unowned: bool

    @property
    def more(self) -> int:
        return self.total - len(self.partnerships)


def _quiet_partnerships(user, *, scope: str, on: date, coordination: bool) -> QuietPartnerships:
    """Return the scope's quiet partnerships, as the morning digest picks them.

    "Mine" is what the user owns, and for Coordination also what nobody owns;
    "team" is every quiet partnership.
    """
    everything = Partnership.objects.gone_quiet(today=on)
    shown = everything
    if scope == "mine":
        shown = everything.watched_by(user, coordination=coordination)
    partnerships, total = first_and_total(
        shown.select_related("organization", "project", "owner"), limit=QUIET_LIMIT
    )
    # Told, not counted: counting every quiet partnership of the team reads them
    # all (seconds at a million follow-ups); the first one found is enough.
    owned = unowned = False
    if scope == "mine":
        rest = everything.exclude(pk__in=shown.values("pk"))
        owned = rest.filter(owner__isnull=False).exists()
        unowned = rest.filter(owner__isnull=True).exists()
    return QuietPartnerships(partnerships, total, owned, unowned)


@require_GET
@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    require(request, "crm.view_followup", "crm.view_partnership")
    on = clock.today()
    may_see_team = roles.is_coordination(request.user)
    scope = "team" if may_see_team and request.GET.get("scope") == "team" else "mine"
    follow_ups = FollowUp.objects.select_related("project", "organization", "assignee")
    if scope == "mine":
        follow_ups = follow_ups.for_assignee(request.user)
    fmt = exports.requested_format(request)
    if fmt:
        # The groups' follow-ups, every one of them (crm.views.exports).
        rows = exports.dashboard_follow_ups(follow_ups, today=on)
        return exports.export_response(
            request, rows, exports.follow_up_columns(), fmt=fmt, resource="page: dashboard"
        )
    # The groups and their counts are real work; demonstration follow-ups are
    # listed apart, under their own heading, and counted in no group.
    demo, demo_total = first_and_total(
        follow_ups.filter(is_demo=True).open().order_by("due_on", "id"), limit=FOLLOW_UP_LIMIT
    )
    follow_ups = follow_ups.filter(is_demo=False)
    quiet = _quiet_partnerships(request.user, scope=scope, on=on, coordination=may_see_team)
    mine = {"assignee__id__exact": request.user.pk} if scope == "mine" else {}
    # The kept totals serve the chart and the counts, mine or the team's.
    per_project = tallies.deadline_counts_by_project(today=on)
    if scope == "team":
        counts = {key: sum(row[key] for row in per_project.values()) for key in DEADLINE_GROUPS}
    else:
        counts = tallies.deadline_counts_of(request.user, today=on)
    groups = dashboard_groups(follow_ups, today=on, limit=FOLLOW_UP_LIMIT, counts=counts)
    for group in groups:
        # The same group in the admin: its deadline filter is the same Q.
        group.more_url = admin_follow_ups_url(deadline=group.key, **mine)
    context = {
        "scope": scope,
        "may_see_team": may_see_team,
        "groups": groups,
        "demo": {
            "follow_ups": demo,
            "total": demo_total,
            "more": demo_total - len(demo),
            "more_url": admin_follow_ups_url(is_demo__exact=1, **mine),
        },
        "quiet": quiet,
        "chart": _project_chart(per_project),
        "calendar_url": calendar_url_for(request.user, request),
        # How many messages wait in "Courriels à classer" (one COUNT, on its index).
        "mail_waiting": MailMessage.objects.waiting().count()
        if request.user.has_perm("crm.view_mailmessage")
        else None,
        "export_urls": exports.export_urls(request),
        **action_context(request),
    }
    context.update(sections.dashboard_context(request.user, on=on, team=scope == "team"))
    return render(request, "crm/dashboard.html", context)
