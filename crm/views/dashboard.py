"""The dashboard: my open follow-ups by urgency, partnerships gone quiet, the projects' chart."""

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from crm import roles
from crm.agenda import WEEK_DAYS, group_follow_ups
from crm.calendar import calendar_url_for
from crm.models import FollowUp, Partnership, Project
from crm.views import common
from crm.views.common import (
    FOLLOW_UP_LIMIT,
    OPEN_NOT_WAITING,
    action_context,
    admin_follow_ups_url,
    require,
)


def _project_chart(*, on: date) -> dict[str, Any]:
    """Return the bars of the open-follow-ups-per-project chart (one query)."""
    projects = Project.objects.with_follow_up_counts(today=on).order_by("name")
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


@dataclass
class DashboardGroup:
    key: str
    label: str
    follow_ups: list[FollowUp]
    total: int
    more_url: str

    @property
    def more(self) -> int:
        return self.total - len(self.follow_ups)


def _group_filters(key: str, on: date) -> dict[str, str]:
    """Return the admin changelist filters that match a dashboard group."""
    if key == "waiting":
        return {"status__exact": FollowUp.Status.WAITING}
    week_end = on + timedelta(days=WEEK_DAYS)
    dates = {
        "overdue": {"due_on__lt": on},
        "today": {"due_on__exact": on},
        "week": {"due_on__gt": on, "due_on__lte": week_end},
        "later": {"due_on__gt": week_end},
    }[key]
    return {"status__in": OPEN_NOT_WAITING, **{k: v.isoformat() for k, v in dates.items()}}


# Partnerships gone quiet listed on the dashboard; the count says how many more.
QUIET_LIMIT = 50


@dataclass
class QuietPartnerships:
    """The quiet partnerships of the scope shown, and how many the rest of the team has."""

    partnerships: list[Partnership]
    total: int
    # Quiet partnerships outside the scope shown ("mine"): never hidden behind
    # a reassuring message.
    elsewhere: int

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
    partnerships = list(shown.select_related("organization", "project", "owner")[:QUIET_LIMIT])
    total = len(partnerships)
    if total == QUIET_LIMIT:
        total = shown.count()
    elsewhere = everything.count() - total if scope == "mine" else 0
    return QuietPartnerships(partnerships, total, elsewhere)


@require_GET
@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    require(request, "crm.view_followup", "crm.view_partnership")
    on = common.today()
    may_see_team = roles.is_coordination(request.user)
    scope = "team" if may_see_team and request.GET.get("scope") == "team" else "mine"
    follow_ups = FollowUp.objects.open().select_related("project", "organization", "assignee")
    if scope == "mine":
        follow_ups = follow_ups.for_assignee(request.user)
    quiet = _quiet_partnerships(request.user, scope=scope, on=on, coordination=may_see_team)
    mine = {"assignee__id__exact": request.user.pk} if scope == "mine" else {}
    groups = [
        DashboardGroup(
            group.key,
            group.label,
            group.follow_ups[:FOLLOW_UP_LIMIT],
            len(group.follow_ups),
            admin_follow_ups_url(**_group_filters(group.key, on), **mine),
        )
        for group in group_follow_ups(follow_ups.order_by("due_on", "id"), on=on)
    ]
    context = {
        "scope": scope,
        "may_see_team": may_see_team,
        "groups": groups,
        "quiet": quiet,
        "chart": _project_chart(on=on),
        "calendar_url": calendar_url_for(request.user, request),
        **action_context(request),
    }
    return render(request, "crm/dashboard.html", context)
